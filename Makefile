# GridCoop developer commands. Every target bootstraps what it needs on a fresh machine.
.PHONY: demo test lint docs bench bench-load serve bootstrap bootstrap-all mutation mutation-fast

bootstrap:
	scripts/bootstrap

bootstrap-all:
	scripts/bootstrap all

demo:  # the hub alone on the newest Python 3.12+ found (scripts/bootstrap demo)
	scripts/bootstrap demo
	.venv/bin/python -m hub --log-level warning demo

serve: bootstrap
	.venv/bin/python -m hub serve

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check hub home bench
	.venv/bin/mypy --strict hub home/gridcoop_home

docs: bootstrap  # the documentation site (mkdocs.yml, docs/); any warning fails the build
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir build/site

test: bootstrap-all
	scripts/test

bench: bootstrap
	for b in bench/bench_*.py; do \
	  [ "$$b" = bench/bench_load.py ] && continue; \
	  echo "== $$b"; .venv/bin/python $$b; \
	done

bench-load: bootstrap  # 1,000 homes for 10 minutes against a real hub (see docs/hub/scale_out.md#load)
	.venv/bin/python bench/bench_load.py

mutation:  # mutmut over the core, module by module (long: docs/development.md#mutation-testing)
	scripts/mutation

mutation-fast:  # merkle, envelope and dispatch against their own tests: a few minutes
	scripts/mutation --fast
