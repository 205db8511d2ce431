"""One module per CLI verb: ``add_parser(subparsers)`` registers it, ``args.run(args)`` runs it."""
