from etl_toolkit.cli import main

main()
