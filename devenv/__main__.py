from devenv.cli.entry import main

main()
