"""Entry point of the `servicedesk` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from ml.registry import MODEL_NAMES, load_commands


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Build the parser, loading a model's own arguments only for the model named in argv.

    Importing every model package (scikit-learn among them) would take seconds.
    """
    parser = argparse.ArgumentParser(prog="servicedesk", description="Service desk tools for the local stack and models.")
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("replay", help="replay a data set through the running local stack")
    replay_kinds = replay.add_subparsers(dest="kind", required=True)
    from cli import replay_messages, replay_servicenow

    replay_servicenow.add_arguments(replay_kinds.add_parser("servicenow", help="ServiceNow incident event log (CSV)"))
    replay_messages.add_arguments(replay_kinds.add_parser("messages", help="a message corpus (CSV or TSV)"))

    from cli import sentiment

    sentiment.add_arguments(commands.add_parser("sentiment", help="score the sentiment of a CSV column"))

    deploy_parser = commands.add_parser("deploy", help="package a model and deploy it to SageMaker")
    if _names_command(argv, "deploy"):
        from ml.deploy import commands as deploy_commands

        deploy_commands.add_arguments(deploy_parser)

    from cli import token

    token.add_arguments(commands.add_parser("token", help="print a development token for the local stack's API"))

    from cli import report

    report.add_arguments(commands.add_parser("report", help="write an HTML report with charts of the KPIs of a period"))

    for verb in ("train", "evaluate"):
        verb_parser = commands.add_parser(verb, help=f"{verb} a model: {', '.join(MODEL_NAMES)}")
        models = verb_parser.add_subparsers(dest="model", required=True)
        for name in MODEL_NAMES:
            model_parser = models.add_parser(name, help=f"{verb} the {name} model")
            model_parser.set_defaults(model_verb=verb)
            model_parser.set_defaults(model_arguments=f"add_{verb}_arguments")
            if _names_command(argv, verb, name):
                _add_model_arguments(model_parser, name, verb)
    return parser


def _names_command(argv: list[str] | None, *words: str) -> bool:
    """Return whether the command line starts with these words."""
    given = sys.argv[1:] if argv is None else argv
    return list(given[: len(words)]) == list(words)


def _add_model_arguments(parser: argparse.ArgumentParser, name: str, verb: str) -> None:
    try:
        commands = load_commands(name)
    except ImportError as error:
        parser.set_defaults(unavailable=f"model {name} cannot be loaded: {error}")
        return
    getattr(commands, f"add_{verb}_arguments")(parser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    # Progress of long runs goes to stderr, so stdout stays one JSON object or one table.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)

    if args.command in {"train", "evaluate"}:
        if getattr(args, "unavailable", None):
            parser.error(args.unavailable)
        run: Callable[[argparse.Namespace], dict[str, Any]] = getattr(load_commands(args.model), args.command)
        try:
            metrics = run(args)
        except (ValueError, FileNotFoundError) as error:
            print(f"servicedesk {args.command} {args.model}: {error}", file=sys.stderr)
            return 2
        print(json.dumps(metrics, ensure_ascii=False, default=str))
        return 0
    if args.command == "replay":
        from cli import replay_messages, replay_servicenow

        module = replay_servicenow if args.kind == "servicenow" else replay_messages
        return module.run(args)
    if args.command == "sentiment":
        from cli import sentiment

        return sentiment.run(args)
    if args.command == "token":
        from cli import token

        return token.run(args)
    if args.command == "report":
        from cli import report

        return report.run(args)
    if args.command == "deploy":
        from ml.deploy import commands as deploy_commands

        try:
            result = deploy_commands.run(args)
        except deploy_commands.EXPECTED_ERRORS as error:
            print(f"servicedesk deploy {args.model}: {error}", file=sys.stderr)
            return 2
        print(json.dumps(result, ensure_ascii=False, default=str))
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
