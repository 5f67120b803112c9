from patchdesk.cli import main

main()
