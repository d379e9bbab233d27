# GridCoop developer commands. Every target bootstraps what it needs on a fresh machine.
.PHONY: demo test lint bench serve bootstrap bootstrap-all

bootstrap:
	scripts/bootstrap

bootstrap-all:
	scripts/bootstrap all

demo: bootstrap
	.venv/bin/python -m hub --log-level warning demo

serve: bootstrap
	.venv/bin/python -m hub serve

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check hub bench
	.venv/bin/mypy --strict hub

test: bootstrap-all
	scripts/test

bench: bootstrap
	for b in bench/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
