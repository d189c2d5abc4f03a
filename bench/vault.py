"""Benchmark: decrypt three profile fields per customer, data-key unwrap included.

Target: >= 100,000 customers per second on one core, memory flat as the count grows.

The script builds a temporary SQLite database (stdlib ``sqlite3``) holding, per customer, the
wrapped data key, its KEK version and the ciphertexts of ``email``, ``first_name`` and
``birthday``; then streams it back in batches (``fetchmany``) and, for every customer,
unwraps the data key under its KEK and decrypts the three fields.  Reading the rows is part
of the measured time.  Memory flatness: the peak RSS of a pass over 10 % of the customers is
compared with the peak RSS of a pass over all of them (the kernel's peak counter is reset
between passes where Linux allows it).

    python bench/vault.py            # 100,000 customers
    python bench/vault.py --quick    # 10,000 customers
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import gc
import resource
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator

from app.vault import FieldCipher, KeyRing, WrappedKey, new_data_key, wrap_data_key

FIELDS = ("email", "first_name", "birthday")
BATCH = 2_000
TARGET_PER_S = 100_000
FIRST_NAMES = ("Giulia", "Marco", "Francesca", "Luca", "Anna", "Matteo", "Sofia", "Lorenzo")


def customer_rows(ring_v1: KeyRing, ring: KeyRing, count: int) -> Iterator[tuple]:
    """Yield one database row per synthetic customer (one in ten still under KEK v1)."""
    for number in range(count):
        ref = str(uuid.uuid4())
        dek = new_data_key()
        wrapped = wrap_data_key(ring_v1 if number % 10 == 0 else ring, ref, dek)
        cipher = FieldCipher(dek, ref)
        name = FIRST_NAMES[number % len(FIRST_NAMES)]
        values = (
            f"{name.lower()}.{number}@example.it",
            name,
            f"{1950 + number % 50}-{1 + number % 12:02d}-{1 + number % 28:02d}",
        )
        sealed = [cipher.encrypt(f, v) for f, v in zip(FIELDS, values, strict=True)]
        yield (ref, wrapped.kek_version, wrapped.blob, *sealed)


def build_database(path: Path, ring_v1: KeyRing, ring: KeyRing, count: int) -> None:
    """Create and fill the customers table, streaming rows so building is memory-flat too."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE customer_vault (ref TEXT PRIMARY KEY, kek_version INTEGER NOT NULL,"
            " wrapped_key BLOB NOT NULL, email BLOB, first_name BLOB, birthday BLOB)"
        )
        db.executemany(
            "INSERT INTO customer_vault VALUES (?, ?, ?, ?, ?, ?)",
            customer_rows(ring_v1, ring, count),
        )
    # The ``with`` block commits; closing is separate in sqlite3.
    sqlite3.connect(path).close()


def decrypt_pass(path: Path, ring: KeyRing, limit: int) -> tuple[int, float, int, float]:
    """Stream ``limit`` customers and decrypt their fields; returns (count, seconds, checksum,
    CPU seconds of this process)."""
    db = sqlite3.connect(path)
    started, cpu_started = time.perf_counter(), time.process_time()
    cursor = db.execute(
        "SELECT ref, kek_version, wrapped_key, email, first_name, birthday"
        " FROM customer_vault ORDER BY rowid LIMIT ?",
        (limit,),
    )
    count = checksum = 0
    while rows := cursor.fetchmany(BATCH):
        for ref, version, wrapped, email, first_name, birthday in rows:
            cipher = FieldCipher.open(ring, ref, WrappedKey(version, wrapped))
            checksum += len(cipher.decrypt("email", email))
            checksum += len(cipher.decrypt("first_name", first_name))
            checksum += len(cipher.decrypt("birthday", birthday))
        count += len(rows)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    db.close()
    return count, seconds, checksum, cpu


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux ``clear_refs``); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (VmHWM, else ``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_peak(path: Path, ring: KeyRing, limit: int) -> float:
    """Peak RSS (MB) of one decrypt pass over ``limit`` customers."""
    gc.collect()
    reset_peak_rss()
    decrypt_pass(path, ring, limit)
    return peak_rss_mb()


def main() -> None:
    """Build the data, measure throughput and memory, print RESULT lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers instead of 100k")
    parser.add_argument("--customers", type=int, help="number of customers (overrides --quick)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (median reported)")
    args = parser.parse_args()
    count = args.customers or (10_000 if args.quick else 100_000)
    small = max(count // 10, 1)

    ring_v1 = KeyRing.parse(KeyRing.generate_config(1))
    ring = ring_v1.with_key(2, KeyRing.parse(KeyRing.generate_config(2)).key(2))
    with tempfile.TemporaryDirectory(prefix="assenso-bench-vault-") as tmp:
        path = Path(tmp) / "vault.sqlite3"
        started = time.perf_counter()
        print(f"building {count:,} customers (3 fields each) in {path} ...", flush=True)
        build_database(path, ring_v1, ring, count)
        size_mb = path.stat().st_size / 2**20
        print(f"  built in {time.perf_counter() - started:.1f} s, {size_mb:.1f} MB", flush=True)

        decrypt_pass(path, ring, small)  # warm-up: imports, caches, page cache
        rates, cpu_rates = [], []
        for attempt in range(1, args.repeat + 1):
            done, seconds, checksum, cpu = decrypt_pass(path, ring, count)
            rates.append(done / seconds)
            cpu_rates.append(done / cpu)
            print(
                f"  pass {attempt}: {done:,} customers in {seconds:.3f} s = "
                f"{done / seconds:,.0f} customers/s, {done / cpu:,.0f} per CPU second "
                f"(checksum {checksum})",
                flush=True,
            )
        resettable = reset_peak_rss()
        peak_small = measure_peak(path, ring, small)
        peak_full = measure_peak(path, ring, count)
        how = "VmHWM reset between passes" if resettable else "ru_maxrss, not resettable"
        print(
            f"  peak RSS: {peak_small:.1f} MB after {small:,}, {peak_full:.1f} MB after "
            f"{count:,} ({how})",
            flush=True,
        )

    rate = statistics.median(rates)
    verdict = "meets" if rate >= TARGET_PER_S else "MISSES"
    print(f"median of {len(rates)} passes {verdict} the target of {TARGET_PER_S:,} customers/s")
    print(f"RESULT vault_decrypt_customers_per_s {rate:.0f} customers/s")
    # The same per CPU second of this process: what a busy machine barely moves.
    print(
        f"RESULT vault_decrypt_customers_per_cpu_s {statistics.median(cpu_rates):.0f} customers/s"
    )
    print(f"RESULT vault_decrypt_peak_rss_growth_mb {peak_full - peak_small:.1f} MB")


if __name__ == "__main__":
    main()
