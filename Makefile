# ast_bridge — see README.md. Everything runs as root on Debian 12/13.
SHELL := /bin/bash
VENV := .venv
PYTEST := $(VENV)/bin/python -m pytest

.PHONY: lab lab-down lab-status test unit bench soak

lab:            ## provision and start Asterisk, the sipp phones and the bridge
	lab/lab.sh up

lab-down:       ## stop everything the lab started
	lab/lab.sh down

lab-status:
	lab/lab.sh status

test: lab       ## the whole suite; integration tests run against the lab
	$(PYTEST) $(PYTEST_ARGS)

unit:           ## unit tests only (no lab needed once .venv exists)
	$(PYTEST) tests/unit $(PYTEST_ARGS)

soak: lab       ## a minute of mixed load: no error, flat memory
	$(PYTEST) -m soak -s tests/integration/test_soak.py

bench: lab      ## benchmarks side by side with raw AMI and the HTTP manager
	$(VENV)/bin/python -m bench
