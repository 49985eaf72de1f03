from hanoinet.cli.main import app

app(prog_name="hanoinet")
