"""The command line: promote (with best_params), live run, status, halt, resume, report."""

from __future__ import annotations

import json

import yaml

from quantlab.live.commands import main
from quantlab.live.status import status


def test_promote_run_halt_resume_report(tmp_path, capsys):
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"fast": 4, "slow": 12}))  # a walk-forward result's best_params
    assert main(["promote", "SmaCross", "--name", "cli", "--start", "2011-06", "--end",
                 "2012-12", "--symbol", "AAPL", "--best-params", str(best), "-o", "fee_bps=5",
                 "--out", str(tmp_path)]) == 0
    doc = yaml.safe_load((tmp_path / "cli.yaml").read_text())
    assert doc["strategy"]["params"] == {"fast": 4, "slow": 12, "short": False}
    assert doc["backtest"]["costs"]["fee_bps"] == 5.0
    journal = tmp_path / "j.sqlite"
    assert main(["live", "run", str(tmp_path / "cli.yaml"), "--start", "2012-01", "--end",
                 "2012-06", "--journal", str(journal), "--no-fsync", "--max-bars", "40"]) == 0
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["bars"] == 40 and done["state"] == "ACTIVE"
    assert main(["live", "halt", str(journal), "--reason", "test"]) == 0
    assert status(journal)["latched"] == {"source": "cli", "reason": "test"}
    assert main(["live", "status", str(journal)]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert shown["state"] == "HALTED" and shown["bars"] == 40
    # the halted run resumes where it stopped, still halted after the restart
    assert main(["live", "run", str(tmp_path / "cli.yaml"), "--start", "2012-01", "--end",
                 "2012-06", "--journal", str(journal), "--no-fsync"]) == 0
    assert status(journal)["state"] == "HALTED"
    assert main(["live", "resume", str(journal)]) == 0
    assert status(journal)["latched"] is None
    assert main(["live", "report", str(journal), "--out", str(tmp_path / "r.html")]) == 0
    assert "Shadow report" in (tmp_path / "r.html").read_text()


def test_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["live", "status", str(tmp_path / "missing.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: journal") and err.count("\n") == 1


def test_cli_logging_redacts_the_configs_secrets_by_value(monkeypatch):
    """``quantlab live run`` installs a RedactingFilter with the values of every ``*_env``
    variable of the broker and monitoring sections (and the API token) on its handlers: a
    secret logged by any library (here the ccxt logger, through the root handler) is ``***``."""
    import io
    import logging
    from types import SimpleNamespace

    from quantlab.live.commands import _redact_logs

    monkeypatch.setenv("CANARY_KEY_ENV_X", "canary-key-8f1e")
    monkeypatch.setenv("CANARY_TG_ENV_X", "canary-telegram-77aa")
    monkeypatch.setenv("QUANTLAB_API_TOKEN", "canary-api-token-31")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        cfg = SimpleNamespace(broker_options={"kind": "ccxt", "api_key_env": "CANARY_KEY_ENV_X"},
                              monitoring={"alerts": {"sinks": [{"type": "telegram",
                                                                "token_env": "CANARY_TG_ENV_X"}]}})
        _redact_logs(cfg)
        log = logging.getLogger("ccxt.base.exchange")
        log.setLevel(logging.DEBUG)
        log.debug("request headers %s", {"X-MBX-APIKEY": "canary-key-8f1e"})
        logging.getLogger("urllib3").warning("POST /botcanary-telegram-77aa/sendMessage")
        logging.getLogger("uvicorn").warning("Bearer canary-api-token-31")
    finally:
        root.removeHandler(handler)
        for flt in list(handler.filters):
            handler.removeFilter(flt)
        if logging.lastResort is not None:
            for flt in list(logging.lastResort.filters):
                logging.lastResort.removeFilter(flt)
    text = stream.getvalue()
    assert text.count("***") == 3 and "X-MBX-APIKEY" in text and "sendMessage" in text
    for canary in ("canary-key-8f1e", "canary-telegram-77aa", "canary-api-token-31"):
        assert canary not in text


# ---------------------------------------------------------------- review fixes
def _promoted(tmp_path):
    assert main(["promote", "SmaCross", "--name", "fx", "--start", "2011-06", "--end",
                 "2012-12", "--symbol", "AAPL", "--out", str(tmp_path)]) == 0
    return tmp_path / "fx.yaml"


def test_run_closes_the_feed_and_halt_latches_in_one_transaction(tmp_path, monkeypatch):
    from quantlab.live import commands
    from quantlab.live.journal import Journal

    config = _promoted(tmp_path)
    closed: list[int] = []
    build = commands._feed

    def spy_feed(args, cfg):
        feed = build(args, cfg)
        monkeypatch.setattr(feed, "close", lambda: closed.append(1), raising=False)
        return feed

    monkeypatch.setattr(commands, "_feed", spy_feed)
    journal = tmp_path / "j.sqlite"
    assert main(["live", "run", str(config), "--start", "2012-01", "--end", "2012-03",
                 "--journal", str(journal), "--no-fsync", "--max-bars", "5"]) == 0
    assert closed == [1]  # the feed's session is closed when the run ends

    def count(table):
        j = Journal(journal, mode="paper", readonly=True)
        try:
            return j.rows(table)
        finally:
            j.close()

    txns_before = len(count("txns"))
    assert main(["live", "halt", str(journal), "--reason", "fx3"]) == 0
    txns = count("txns")[txns_before:]
    assert [t["kind"] for t in txns] == ["halt"]  # halts row and alert: ONE transaction
    assert [r["reason"] for r in count("halts")] == ["fx3"]
    assert [a["message"] for a in count("alerts") if a["kind"] == "halt"] == [
        "HALTED by cli: fx3"]


def test_a_missing_broker_or_monitoring_file_is_named(tmp_path, capsys):
    for option, value in (("--broker", "brokers/oanda.yaml"), ("--broker", "oanda.yml"),
                          ("--monitoring", str(tmp_path / "monitoring.json")),
                          ("--broker", "conf/broker")):
        code = main(["promote", "SmaCross", "--name", "m", "--symbol", "AAPL", option, value,
                     "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert f"`{option}` of promote() must be an existing YAML file" in err
        assert value in err and "No file" in err
    assert not (tmp_path / "m.yaml").exists()
    # an inline mapping holding a '/' is still read as YAML
    code = main(["promote", "SmaCross", "--name", "m", "--symbol", "AAPL", "--start",
                 "2011-06", "--end", "2012-12", "--broker", "{kind: oanda, account_id: "
                 "101-001-1-001, base_url: 'http://127.0.0.1:9/v3'}", "--out", str(tmp_path)])
    assert code == 0
    assert yaml.safe_load((tmp_path / "m.yaml").read_text())["broker"]["base_url"] == (
        "http://127.0.0.1:9/v3")


def test_serve_checks_the_host_before_saying_serving(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("QUANTLAB_API_TOKEN", raising=False)
    code = main(["live", "serve", str(tmp_path / "j.sqlite"), "--host", "0.0.0.0"])
    out, err = capsys.readouterr()
    assert code == 2 and "serving" not in out
    assert "`host` of serve()" in err and "QUANTLAB_API_TOKEN" in err
