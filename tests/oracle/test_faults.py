"""imzarr over a bad network: a proxy in front of the S3 test server fails 5% of requests with
503 SlowDown and cuts 2% of connections (before the answer, or halfway through a GET's body).
Conversions through it must give stores identical, object for object, to clean local ones;
reads through it must give the right answers; a server that fails every request must give a
clear error naming the object, and no store that looks complete."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from conftest import FIXTURE_NAMES, FIXTURES, ROOT, imzarr_binary, run_imzarr
from test_cli_round_trip import assert_same_as_source
from test_oracle import PYIMZML_MISREADS

BUCKET = os.environ.get("IMZARR_TEST_S3_BUCKET")
UPSTREAM = os.environ.get("AWS_ENDPOINT_URL")
pytestmark = pytest.mark.skipif(not BUCKET, reason="IMZARR_TEST_S3_BUCKET is not set: no S3 test server is up")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(tmp_path, fail, drop, seed):
    port = free_port()
    stats = tmp_path / f"proxy-{port}.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "faults" / "fault_proxy.py"), "--listen", f"127.0.0.1:{port}",
         "--upstream", UPSTREAM, "--fail", str(fail), "--drop", str(drop), "--seed", str(seed), "--stats", str(stats)]
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}", stats


@pytest.fixture
def faulty(tmp_path):
    process, endpoint, stats = start_proxy(tmp_path, fail=0.05, drop=0.02, seed=7)
    yield endpoint, stats
    process.terminate()
    process.wait()


def imzarr_via(endpoint, *args):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    return subprocess.run([str(imzarr_binary()), *args], capture_output=True, text=True, env=env)


def objects_in_s3(prefix):
    s3 = boto3.client("s3", endpoint_url=UPSTREAM)
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            key = item["Key"][len(prefix) + 1:]
            found[key] = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return found


def shard_objects_in_s3(prefix):
    """How many shard objects the store at `prefix` holds (listed, not read)."""
    s3 = boto3.client("s3", endpoint_url=UPSTREAM)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return sum("/c/" in item["Key"] for page in pages for item in page.get("Contents", []))


def objects_on_disk(root: Path):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_same_objects(found, expected, what):
    """The same object names, each with the same bytes; `what` names the store in failures."""
    assert sorted(found) == sorted(expected), what
    for key in expected:
        assert found[key] == expected[key], (what, key)


def test_conversions_and_reads_through_faults_equal_clean_runs(stores, faulty, tmp_path):
    endpoint, stats = faulty
    run = uuid.uuid4().hex
    for name in FIXTURE_NAMES:
        prefix = f"faults-{run}/{name}.imzarr"
        url = f"s3://{BUCKET}/{prefix}"
        result = imzarr_via(endpoint, "convert", str(FIXTURES / f"{name}.imzML"), url)
        assert result.returncode == 0, (name, result.stderr)
        assert_same_objects(objects_in_s3(prefix), objects_on_disk(stores[name]), name)

        result = imzarr_via(endpoint, "validate", url, "--full")
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        if name not in PYIMZML_MISREADS:
            exported = tmp_path / f"{name}.imzML"
            result = imzarr_via(endpoint, "export", url, str(exported))
            assert result.returncode == 0, (name, result.stderr)
            assert_same_as_source(name, exported)
    counts = json.loads(stats.read_text())
    print(f"\nfault proxy: {counts}", file=sys.stderr)
    # The test proves nothing unless faults of every kind were injected.
    assert counts["failed_503"] >= 10 and counts["dropped_before_answer"] >= 2 and counts["dropped_mid_body"] >= 2, counts


def test_a_server_that_always_fails_gives_a_clear_error_and_no_complete_store(tmp_path):
    process, endpoint, _ = start_proxy(tmp_path, fail=1.0, drop=0.0, seed=1)
    try:
        prefix = f"faults-{uuid.uuid4().hex}/broken.imzarr"
        started = time.monotonic()
        result = imzarr_via(endpoint, "convert", str(FIXTURES / "cardinal1_cut_masspix.imzML"), f"s3://{BUCKET}/{prefix}")
    finally:
        process.terminate()
        process.wait()
    assert result.returncode == 5, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert prefix in message and ("SlowDown" in message or "503" in message), message
    assert "zarr.json" not in objects_in_s3(prefix)
    print(f"\ngave up after {time.monotonic() - started:.1f} s: {message}", file=sys.stderr)


def test_inputs_read_from_s3_through_faults_give_the_same_stores(stores, faulty, tmp_path):
    """`imzarr convert s3://bucket/x.imzML ...`: the imzML and its .ibd read by range requests,
    through the faulty proxy; the stores equal those converted from the local files."""
    endpoint, stats = faulty
    s3 = boto3.client("s3", endpoint_url=UPSTREAM)
    prefix = f"inputs-{uuid.uuid4().hex}"
    for name in FIXTURE_NAMES:
        for path in FIXTURES.glob(f"{name}.*"):
            if path.suffix.lower() in (".imzml", ".ibd"):
                s3.upload_file(str(path), BUCKET, f"{prefix}/{path.name}")
    for name in FIXTURE_NAMES:
        store = tmp_path / f"{name}.imzarr"
        result = imzarr_via(endpoint, "convert", f"s3://{BUCKET}/{prefix}/{name}.imzML", str(store))
        assert result.returncode == 0, (name, result.stderr)
        assert_same_objects(objects_on_disk(store), objects_on_disk(stores[name]), name)
    counts = json.loads(stats.read_text())
    print(f"\nfault proxy (inputs from S3): {counts}", file=sys.stderr)
    assert counts["failed_503"] >= 3 and counts["dropped_mid_body"] + counts["dropped_before_answer"] >= 1, counts


def write_processed_imzml(path: Path, width=48, height=40, peaks=400):
    """A processed centroid dataset written by pyimzML's own writer (not ours)."""
    import numpy as np
    from pyimzml.ImzMLWriter import ImzMLWriter

    rng = np.random.default_rng(11)
    with ImzMLWriter(str(path), mode="processed", mz_dtype=np.float64, intensity_dtype=np.float32) as writer:
        for y in range(1, height + 1):
            for x in range(1, width + 1):
                mzs = np.sort(rng.uniform(100.0, 1000.0, peaks))
                writer.addSpectrum(mzs, rng.gamma(2.0, 100.0, peaks).astype(np.float32), (x, y, 1))
    return path


def test_a_conversion_killed_and_resumed_through_faults_equals_a_clean_run(faulty, tmp_path):
    """`imzarr convert --resume` to S3 through the faulty proxy, killed (SIGKILL) at several
    points and resumed each time: the final store equals, object for object, one converted
    locally in a single run; no interrupted store opens as complete."""
    endpoint, stats = faulty
    source = write_processed_imzml(tmp_path / "killed.imzML")
    options = ["--resume", "--shard-mib", "1", "--memory", "32"]
    clean = tmp_path / "clean.imzarr"
    result = run_imzarr("convert", *options, str(source), str(clean))
    assert result.returncode == 0, result.stderr

    run = uuid.uuid4().hex
    started = time.monotonic()
    timing = imzarr_via(endpoint, "convert", *options, str(source), f"s3://{BUCKET}/killed-{run}/timing.imzarr")
    assert timing.returncode == 0, timing.stderr
    full_run = time.monotonic() - started

    clean_objects = objects_on_disk(clean)
    prefix = f"killed-{run}/resumed.imzarr"
    url = f"s3://{BUCKET}/{prefix}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    interrupted = 0
    completed_while_killed = False
    outputs = []
    # Killed once at a time early on, then each time another fifth of the shards is written:
    # kills at fixed times alone can all land before the first shard on one machine (or with
    # one draw of faults) and after the last on another.
    shards_in_total = sum("/c/" in key for key in clean_objects)
    assert shards_in_total >= 10, shards_in_total
    kill_points = [("after", full_run * 0.1)] + [("shards", shards_in_total * k // 5) for k in range(1, 5)]
    for kind, point in kill_points:
        child = subprocess.Popen([str(imzarr_binary()), "convert", *options, str(source), url], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if kind == "after":
            time.sleep(point)
        else:
            deadline = time.monotonic() + 300
            while child.poll() is None and shard_objects_in_s3(prefix) < point and time.monotonic() < deadline:
                time.sleep(0.02)
        finished = child.poll() is not None
        child.kill()
        outputs.append(child.communicate()[0])
        if not finished:
            info = imzarr_via(endpoint, "info", url)
            if info.returncode == 0:
                # Killed after it wrote the root zarr.json, which marks the store complete,
                # while it removed its progress record (through the faults, with retries) or
                # exited: the store must then be the clean one, object for object (the
                # progress record may linger).
                remote = objects_in_s3(prefix)
                remote.pop("imzarr-progress.json", None)
                assert_same_objects(remote, clean_objects, "an interrupted store opens as complete")
                completed_while_killed = True
                break
            interrupted += 1
    result = imzarr_via(endpoint, "convert", *options, str(source), url)
    assert result.returncode == 0, result.stderr
    assert interrupted >= 2, f"only {interrupted} runs were killed before they finished"
    if completed_while_killed:
        # Resuming a finished store only clears its progress record.
        assert "already complete" in result.stdout, result.stdout
        assert "imzarr-progress.json" not in objects_in_s3(prefix)
    else:
        outputs.append(result.stdout)
        # (When the run that finished the store was killed, its summary was lost.)
        assert any("kept from the interrupted run" in out for out in outputs), outputs

    assert_same_objects(objects_in_s3(prefix), clean_objects, "the resumed store")
    counts = json.loads(stats.read_text())
    print(f"\nkilled {interrupted} times (full run {full_run:.1f} s); fault proxy: {counts}", file=sys.stderr)
