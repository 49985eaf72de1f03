"""Formal request documents: the request as a PDF in the requested State's language, signed.

``render`` lays out a request document (the same JSON the checks and the exchange use) as
the formal request a central authority expects, in one of the six UN languages, PDF/A-4f
with its fonts embedded and the request itself attached; ``signature`` signs it with the
node's key (PAdES) and verifies it against the signed directory. docs/documents.md.
"""
