"""Unit tests of the log failure detector on hand-made log lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.logfailure import inference, train
from ml.logfailure.evaluate import labels_of, split_by_time, warning_lead_times
from ml.logfailure.evaluate import fit_detector
from ml.logfailure.model import prior_features, text_documents
from ml.logfailure.parsing import (
    LogRecord,
    mask_message,
    parse_bgl_line,
    parse_line,
    read_log_file,
    read_structured_csv,
)
from ml.logfailure.templates import mine_templates

NODE = "R02-M1-N0-C:J12-U11"


def bgl_line(label: str | None, epoch: int, level: str, message: str, component: str = "KERNEL") -> str:
    stamp = f"{epoch} 2005.06.03 {NODE} 2005-06-03-15.42.50.675872 {NODE} RAS {component} {level} {message}"
    return stamp if label is None else f"{label} {stamp}"


def training_lines() -> list[str]:
    lines = []
    epoch = 1117838570
    for index in range(30):
        lines.append(bgl_line("-", epoch + 10 * index, "INFO", f"generating core.{1000 + index}"))
        lines.append(bgl_line("-", epoch + 10 * index + 1, "INFO", "instruction cache parity error corrected"))
        lines.append(bgl_line("-", epoch + 10 * index + 2, "FATAL", f"instruction address: 0x{index:08x}"))
        if index % 3 == 0:
            lines.append(bgl_line("KERNDTLB", epoch + 10 * index + 3, "FATAL", "data TLB error interrupt"))
            lines.append(bgl_line("KERNSTOR", epoch + 10 * index + 4, "FATAL", "data storage interrupt"))
    return lines


@pytest.fixture(scope="module")
def detector():
    records = [parse_line(line) for line in training_lines()]
    return fit_detector(records, labels_of(records))


@pytest.fixture
def model_dir(tmp_path):
    log = tmp_path / "bgl.log"
    log.write_text("\n".join(training_lines()) + "\n", "utf-8")
    train.main(["--train", str(log), "--model-dir", str(tmp_path / "model"), "--train-fraction", "1"])
    return tmp_path / "model"


def test_bgl_line_label_is_stripped():
    record = parse_bgl_line(bgl_line("KERNDTLB", 1117838570, "FATAL", "data TLB error interrupt"))

    assert record is not None
    assert record.label == "KERNDTLB"
    assert record.content == "data TLB error interrupt"
    assert record.level == "FATAL"
    assert record.component == "KERNEL"
    assert record.timestamp == pytest.approx(1117838570.675872)


def test_bgl_line_without_label():
    record = parse_bgl_line(bgl_line(None, 1117838570, "INFO", "generating core.2275"))

    assert record is not None
    assert record.label is None
    assert record.is_alert is None
    assert record.content == "generating core.2275"


def test_label_token_not_in_model_input(detector):
    labelled = parse_line(bgl_line("KERNMNTF", 1125552593, "FATAL", "Lustre mount FAILED : bglio559 : point /p/gb1"))
    normal = parse_line(bgl_line("-", 1125552593, "FATAL", "Lustre mount FAILED : bglio559 : point /p/gb1"))
    bare = parse_line(bgl_line(None, 1125552593, "FATAL", "Lustre mount FAILED : bglio559 : point /p/gb1"))

    documents = text_documents([labelled, normal, bare])
    assert "KERNMNTF" not in documents[0]
    assert documents[0] == documents[1] == documents[2]
    probabilities = detector.score([labelled, normal, bare]).alert_probability
    assert probabilities[0] == probabilities[1] == probabilities[2]


def test_inference_strips_label(model_dir):
    model = inference.model_fn(str(model_dir))
    message = "data TLB error interrupt"
    body = json.dumps({"lines": [bgl_line("KERNDTLB", 1117838570, "FATAL", message),
                                 bgl_line("-", 1117838570, "FATAL", message),
                                 bgl_line(None, 1117838570, "FATAL", message)]})

    predictions = inference.predict_fn(inference.input_fn(body, "application/json"), model)["predictions"]

    assert len({prediction["alert_probability"] for prediction in predictions}) == 1
    assert all("KERNDTLB" not in prediction["template"] for prediction in predictions)


def test_generic_line_level_and_component():
    hadoop = parse_line("2015-10-18 18:01:47,978 INFO [IPC Server handler 0 on 62270] org.apache.Task: Progress of 0.5")
    apache = parse_line("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")
    ssh = parse_line("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186")
    android = parse_line("03-17 16:13:38.811  1702  2395 E WindowManager: window lost")

    assert (hadoop.level, hadoop.component, hadoop.content) == ("INFO", "org.apache.Task", "Progress of 0.5")
    assert (apache.level, apache.content) == ("ERROR", "mod_jk child workerEnv in error state 6")
    assert (ssh.level, ssh.component, ssh.content) == ("", "sshd[24200]", "Invalid user webmaster from 173.234.31.186")
    assert (android.level, android.component, android.content) == ("ERROR", "WindowManager", "window lost")


def test_bgl_format_rejects_other_lines():
    with pytest.raises(ValueError, match="not a BGL line"):
        parse_line("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user", "bgl")


def test_mask_message_placeholders():
    masked = mask_message("ciod: socket to 172.16.96.116:51706 file /p/gb1/map at 0x1f2e count 42 on tree/torus")

    assert masked == "ciod: socket to <IP> file <PATH> at <HEX> count <NUM> on tree/torus"


def test_templates_match_like_drain():
    messages = [f"generating core.{n}" for n in range(5)] + ["data TLB error interrupt", "data storage interrupt"]
    templates = mine_templates(messages)

    assert templates.template_text("generating core.77") == "generating core.<NUM>"
    assert templates.template_text("data storage interrupt") == "data storage interrupt"
    assert templates.match("Lustre mount FAILED : bglio5 : point /p/gb1") is None
    assert templates.template_text("Lustre mount FAILED : bglio5 : point /p/gb1") == "Lustre mount FAILED : bglio<NUM> : point <PATH>"


def test_unseen_failure_scores_above_unseen_info(detector):
    unseen_fatal = LogRecord(content="Lustre mount FAILED : bglio559 : point /p/gb1", level="FATAL", component="KERNEL")
    unseen_info = LogRecord(content="new ido chip inserted into the database", level="INFO", component="DISCOVERY")
    familiar_normal = LogRecord(content="generating core.4242", level="INFO", component="KERNEL")
    familiar_alert = LogRecord(content="data TLB error interrupt", level="FATAL", component="KERNEL")

    scores = detector.score([unseen_fatal, unseen_info, familiar_normal, familiar_alert])

    assert scores.alert_probability[0] >= detector.alert_threshold
    assert scores.alert_probability[1] < detector.warning_threshold
    assert scores.alert_probability[2] < detector.warning_threshold
    assert scores.alert_probability[3] >= detector.alert_threshold
    assert scores.familiarity[0] < scores.familiarity[2]


def test_prior_features_count_failure_words():
    features = prior_features([
        LogRecord(content="rts: kernel terminated for reason 1004", level="FATAL"),
        LogRecord(content="generating core.1", level="INFO"),
        LogRecord(content="link has been severed", level="ERROR"),
    ])

    assert features.tolist() == [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 1]]


def test_window_risk_decays_with_age(detector):
    recent = detector.window_risk([0.0] * 10 + [0.8])
    old = detector.window_risk([0.8] + [0.0] * 100)

    assert recent == pytest.approx(0.8)
    assert old == pytest.approx(0.4)
    assert detector.window_risk([]) == 0.0


def test_warning_lead_times_measured():
    records = [LogRecord(content="x", timestamp=t) for t in (0.0, 100.0, 200.0, 5000.0, 9000.0)]
    labels = np.array([0, 0, 1, 0, 1])
    probabilities = np.array([0.4, 0.35, 0.9, 0.1, 0.9])

    summary = warning_lead_times(records, labels, probabilities, warning_threshold=0.3, horizon_seconds=3600)

    assert summary["alerts"] == 2
    assert summary["alerts_warned"] == 1
    assert summary["lead_time_seconds_median"] == 200.0
    assert summary["warning_lines"] == 2
    assert summary["warning_precision"] == 1.0


def test_split_by_time_keeps_order():
    records = [LogRecord(content=str(index)) for index in range(10)]

    train_part, test_part = split_by_time(records, 0.7)

    assert [record.content for record in train_part] == [str(index) for index in range(7)]
    assert [record.content for record in test_part] == ["7", "8", "9"]
    with pytest.raises(ValueError, match="train fraction"):
        split_by_time(records, 1.5)


def test_labels_required_for_training():
    with pytest.raises(ValueError, match="unlabelled"):
        labels_of([LogRecord(content="x", label="-"), LogRecord(content="y")])


def test_structured_csv_reads_label_and_fields(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "LineId,Label,Timestamp,Level,Component,Content\n"
        '1,-,1117838570,INFO,KERNEL,"generating core.1"\n'
        "2,KERNDTLB,1117838571,FATAL,KERNEL,data TLB error interrupt\n",
        "utf-8",
    )

    records = read_structured_csv(path)

    assert [record.is_alert for record in records] == [False, True]
    assert records[1].content == "data TLB error interrupt"
    assert records[1].timestamp == 1117838571.0


def test_structured_csv_needs_content(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("LineId,Message\n1,hello\n", "utf-8")

    with pytest.raises(ValueError, match="no Content column"):
        read_log_file(path)


def test_train_writes_artifact_and_metadata(model_dir):
    metadata = json.loads((model_dir / "metadata.json").read_text("utf-8"))

    assert (model_dir / "model.joblib").is_file()
    assert metadata["name"] == "logfailure"
    assert metadata["training_lines"] == len(training_lines())
    assert len(metadata["data_fingerprint"]) == 64


def test_train_time_split_records_metrics(tmp_path):
    log = tmp_path / "bgl.log"
    log.write_text("\n".join(training_lines()) + "\n", "utf-8")

    metadata = train.main(["--train", str(tmp_path), "--model-dir", str(tmp_path / "model"), "--train-fraction", "0.6"])

    assert metadata["metrics"]["test_lines"] == len(training_lines()) - metadata["training_lines"]
    assert set(metadata["metrics"]["detector"]) >= {"precision", "recall", "f1"}


def test_inference_response_shape(model_dir):
    model = inference.model_fn(str(model_dir))
    lines = [bgl_line(None, 1117838570, "INFO", "generating core.12"), bgl_line(None, 1117838571, "FATAL", "data TLB error interrupt")]

    response = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(json.dumps({"lines": lines})), model)))

    assert response["model"] == "logfailure"
    assert response["model_version"] == json.loads((model_dir / "metadata.json").read_text("utf-8"))["version"]
    assert [prediction["alert"] for prediction in response["predictions"]] == [False, True]
    assert response["predictions"][0]["template"] == "generating core.<NUM>"
    assert response["warning"]["raised"] is True
    assert response["warning"]["risk"] >= response["predictions"][1]["alert_probability"] * 0.99


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"text": []}', '"lines" list'),
        ('{"lines": []}', "non-empty list"),
        ('{"lines": ["ok", 3]}', r'"lines"\[1\] must be a string'),
        (json.dumps({"lines": ["x"] * 501}), "at most 500"),
    ],
)
def test_input_fn_rejects_bad_requests(body, message):
    with pytest.raises(ValueError, match=message):
        inference.input_fn(body, "application/json")


def test_input_fn_rejects_other_content_type():
    with pytest.raises(ValueError, match="unsupported content type"):
        inference.input_fn('{"lines": ["x"]}', "text/csv")


def test_model_fn_missing_artifact(tmp_path):
    with pytest.raises(ValueError, match="model artifact not found"):
        inference.model_fn(str(tmp_path))
