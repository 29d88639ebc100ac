from seedlib.cli import main

raise SystemExit(main())
