from hanoinet.cli.entry import main

# Guarded: a child process started with ``spawn`` (the typesetter, the benchmarks) imports
# the parent's main module again, and must not run the command a second time.
if __name__ == "__main__":
    main()
