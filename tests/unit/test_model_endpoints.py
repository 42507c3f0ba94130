"""The SageMaker endpoint adapter's request and response contract, checked with botocore's Stubber."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from functions.adapters.model_endpoints import SageMakerEndpoint
from functions.domain.errors import DependencyError
from functions.domain.sentiment import SentimentAnalyser, parse_sentiment_response


def streaming(payload: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(payload), len(payload))


@pytest.fixture
def runtime():
    client = boto3.client(
        "sagemaker-runtime", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_invoke_endpoint_request_and_response(runtime) -> None:
    client, stubber = runtime
    response = {
        "model": "sentiment",
        "model_version": "2026.12.1",
        "predictions": [{"label": "negative", "score": 0.93, "negative": 0.93, "language": "ko"}],
    }
    stubber.add_response(
        "invoke_endpoint",
        {"Body": streaming(json.dumps(response).encode()), "ContentType": "application/json"},
        expected_params={
            "EndpointName": "servicedesk-sentiment",
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": json.dumps({"texts": ["정말 화가 납니다"]}, ensure_ascii=False).encode("utf-8"),
        },
    )

    verdicts = SentimentAnalyser(SageMakerEndpoint(client, "servicedesk-sentiment", "sentiment")).analyse(["정말 화가 납니다"])

    assert verdicts[0].label.value == "negative"
    assert verdicts[0].negative == 0.93
    assert verdicts[0].model_version == "2026.12.1"


def test_model_error_becomes_dependency_error(runtime) -> None:
    client, stubber = runtime
    stubber.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424)

    with pytest.raises(DependencyError, match="servicedesk-sentiment"):
        SageMakerEndpoint(client, "servicedesk-sentiment", "sentiment").invoke({"texts": ["x"]})


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_malformed_output_becomes_dependency_error(runtime, body: bytes) -> None:
    client, stubber = runtime
    stubber.add_response("invoke_endpoint", {"Body": streaming(body)})

    with pytest.raises(DependencyError):
        SageMakerEndpoint(client, "servicedesk-sentiment", "sentiment").invoke({"texts": ["x"]})


@pytest.mark.parametrize(
    "response",
    [
        {},
        {"predictions": []},
        {"predictions": [{"label": "angry", "score": 0.5, "negative": 0.5}]},
        {"predictions": [{"label": "negative", "score": 1.5, "negative": 0.5}]},
    ],
)
def test_invalid_predictions_are_rejected(response: dict) -> None:
    with pytest.raises(DependencyError):
        parse_sentiment_response(response, expected=1)


def test_long_text_is_cut_before_the_model() -> None:
    class Recorder:
        name = "sentiment"
        payload: dict = {}

        def invoke(self, payload):
            Recorder.payload = payload
            return {"predictions": [{"label": "neutral", "score": 0.9, "negative": 0.05, "language": "ko"}]}

    SentimentAnalyser(Recorder()).analyse(["가" * 50_000])

    assert len(Recorder.payload["texts"][0]) == 5_000


def test_large_batches_are_split() -> None:
    class Counter:
        name = "sentiment"
        sizes: list[int] = []

        def invoke(self, payload):
            Counter.sizes.append(len(payload["texts"]))
            return {"predictions": [{"label": "neutral", "score": 0.9, "negative": 0.05} for _ in payload["texts"]]}

    verdicts = SentimentAnalyser(Counter()).analyse(["x"] * 130)

    assert Counter.sizes == [64, 64, 2]
    assert len(verdicts) == 130
