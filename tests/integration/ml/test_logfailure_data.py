"""The log failure detector on the loghub samples (skipped when the data folder is missing)."""

from __future__ import annotations

import argparse

import pytest

from ml.logfailure import commands
from ml.logfailure.evaluate import default_bgl_log, evaluate_log, loghub_systems
from ml.logfailure.parsing import read_log_file
from ml.logfailure.templates import mine_templates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bgl_log():
    path = default_bgl_log()
    if not path.is_file():
        pytest.skip(f"BGL sample not found at {path}")
    return path


@pytest.fixture(scope="module")
def bgl_result(bgl_log):
    return evaluate_log(bgl_log)


def test_bgl_detector_beats_baselines(bgl_result):
    detector = bgl_result["detector"]

    assert detector["f1"] >= 0.9
    assert detector["f1"] > bgl_result["baseline_tfidf_logistic_regression"]["f1"]
    assert detector["f1"] > bgl_result["baseline_template_lookup"]["f1"]


def test_bgl_test_alerts_have_unseen_templates(bgl_result):
    assert bgl_result["test_alerts_unseen_template"] >= 0.5
    assert bgl_result["baseline_template_lookup"]["recall"] <= 0.5


def test_bgl_warning_summary_present(bgl_result):
    warning = bgl_result["warning"]

    assert warning["available"] is True
    assert warning["alerts"] == bgl_result["detector"]["alerts"]
    assert 0 <= warning["alerts_warned"] <= warning["alerts"]


def test_template_matcher_agrees_with_drain3(bgl_log):
    from drain3 import TemplateMiner

    from ml.logfailure.templates import drain_config

    messages = [record.content for record in read_log_file(bgl_log)]
    templates = mine_templates(messages[:980])
    miner = TemplateMiner(config=drain_config(0.5, 4))
    for message in messages[:980]:
        miner.add_log_message(message)

    for message in messages:
        cluster = miner.match(message, full_search_strategy="always")
        expected = cluster.get_template() if cluster else None
        matched = templates.match(message)
        assert (None if matched is None else " ".join(templates.templates[matched])) == expected


def test_unlabelled_systems_report(bgl_log, tmp_path):
    systems = loghub_systems()
    if not systems:
        pytest.skip("no other loghub systems in the data folder")
    parser = argparse.ArgumentParser()
    commands.add_train_arguments(parser)
    commands.train(parser.parse_args(["--log", str(bgl_log), "--model-dir", str(tmp_path)]))

    parser = argparse.ArgumentParser()
    commands.add_evaluate_arguments(parser)
    result = commands.evaluate(parser.parse_args(["--system", "all", "--model-dir", str(tmp_path)]))

    for system in systems:
        report = result[system]
        assert report["lines"] == 2000
        assert 0 <= report["flagged"] <= report["lines"]
        assert len(report["highest_scored_templates"]) > 0
