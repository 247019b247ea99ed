from devenv.cli.app import main

main()
