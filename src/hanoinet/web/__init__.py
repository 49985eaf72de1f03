"""The node's HTTP face: the inbox for peers and, later, the JSON API and the web desk."""
