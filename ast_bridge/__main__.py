from ast_bridge.cli import main

raise SystemExit(main())
