"""The deployment assets carry the seed's figures and only use metrics the code exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from luminamind.observability.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
BASE = DEPLOY / "k8s" / "base"
# Metrics that come from elsewhere: kube-state-metrics and redis_exporter.
EXTERNAL_METRICS = {"kube_pod_container_status_restarts_total", "redis_up"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all_manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        path = (BASE / resource).resolve()
        assert path.is_file(), f"kustomization lists a missing file: {resource}"
        docs.extend(_docs(path))
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in _all_manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}"
    return matches[0]


def _exported_series() -> set[str]:
    registry = CollectorRegistry()
    Metrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
    return rules


def _recording_rules() -> set[str]:
    return {r["record"] for g in _rules()["spec"]["groups"] for r in g["rules"] if "record" in r}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(luminamind(?:_|:)[a-z0-9_:]+|kube_[a-z_]+|redis_up)\b", expr))


def test_deployment_has_the_seed_figures() -> None:
    deployment = _one("Deployment", "luminamind")
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    secret_volume = next(
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets"
    )
    assert secret_volume["secret"]["secretName"] == "luminamind-secrets"


def test_hpa_has_the_seed_figures() -> None:
    hpa = _one("HorizontalPodAutoscaler", "luminamind")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 80}


def test_redis_has_replicas_and_persistence() -> None:
    redis = _one("StatefulSet", "redis")
    assert redis["spec"]["replicas"] >= 3
    assert redis["spec"]["volumeClaimTemplates"]
    config = _one("ConfigMap", "redis-config")["data"]["redis.conf"]
    assert "appendonly yes" in config
    assert re.search(r"^save \d+ \d+", config, re.MULTILINE)


def test_service_and_ingress_exist() -> None:
    assert _one("Service", "luminamind")["spec"]["ports"][0]["targetPort"] == "http"
    assert _one("Ingress", "luminamind")["spec"]["tls"]


def test_alerts_follow_the_seed_table() -> None:
    alerts = {r["alert"]: r for g in _rules()["spec"]["groups"] for r in g["rules"] if "alert" in r}
    expected = {
        "LuminaMindHighErrorRate": ("critical", "0.01"),
        "LuminaMindSlowResponse": ("warning", "10"),
        "LuminaMindPodCrashLoop": ("critical", "3"),
        "LuminaMindRedisDown": ("critical", "0"),
        "LuminaMindLowAccuracy": ("warning", "0.90"),
        "LuminaMindHighTokenUsage": ("info", "2 *"),
    }
    assert set(alerts) == set(expected)
    for name, (severity, threshold) in expected.items():
        assert alerts[name]["labels"]["severity"] == severity
        expr = alerts[name]["expr"]
        for record in _recording_rules():
            if record in expr:
                expr += next(
                    r["expr"]
                    for g in _rules()["spec"]["groups"]
                    for r in g["rules"]
                    if r.get("record") == record
                )
        assert threshold in expr, f"{name} should compare against {threshold}"


@pytest.mark.parametrize(
    "source",
    ["rules", "dashboard"],
)
def test_every_metric_used_is_exported(source: str) -> None:
    if source == "rules":
        exprs = [r["expr"] for g in _rules()["spec"]["groups"] for r in g["rules"]]
    else:
        dashboard = json.loads((DEPLOY / "grafana" / "luminamind-dashboard.json").read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    known = _exported_series() | EXTERNAL_METRICS | _recording_rules()
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used, "expressions should reference metrics"
    assert used <= known, f"not exported: {sorted(used - known)}"


def test_dashboard_covers_red_tools_tokens_and_cache() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "luminamind-dashboard.json").read_text())
    text = json.dumps(dashboard)
    for metric in (
        "luminamind_requests_total",
        "luminamind_request_duration_seconds_bucket",
        "luminamind_tool_calls_total",
        "luminamind_llm_tokens_total",
        "luminamind_cache_requests_total",
    ):
        assert metric in text


def test_dockerfile_is_multistage_non_root_with_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    assert re.search(r"^USER (?!root)\S+", text, re.MULTILINE)
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
