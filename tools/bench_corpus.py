"""Generate a large synthetic document corpus for ingestion benchmarks.

Documents are product documentation pages stitched together from topical templates: each
document has a topic (billing, security, connectors, ...), a title, 2-4 headed sections and
150-600 words. Most are Markdown or plain text, about 5% HTML. Vocabulary is drawn from a few
hundred topical words, so documents differ from one another while documents on one topic
share terms, which keeps full-text and vector search meaningful.

Generation is deterministic: document ``i`` depends only on ``seed`` and ``i``, so a corpus
of 100 documents is the first 100 documents of a corpus of 1,000 with the same seed.
``mutate_corpus`` edits a fraction of an existing corpus to benchmark incremental ingestion.
Only the standard library is used.

Usage::

    python tools/bench_corpus.py OUT_DIR --docs 1000 [--seed 0]
    python tools/bench_corpus.py OUT_DIR --mutate 0.1 [--seed 1]
"""

from __future__ import annotations

import argparse
import html
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MIN_WORDS = 150
MAX_WORDS = 600
HTML_SHARE = 0.05
MD_SHARE = 0.55
"""Share of Markdown among the non-HTML documents; the rest are plain text."""


@dataclass(frozen=True)
class Topic:
    """Vocabulary of one documentation area.

    Attributes:
        name: Folder name and identifier.
        title: Human-readable area name used in titles.
        code: Prefix of the area's error codes.
        team: The team that owns the area.
        nouns: Singular nouns and noun phrases.
        verbs: Verbs in base form.
        adjectives: Adjectives typical of the area.
        settings: Setting names (snake_case).
        headings: Section headings specific to the area.
    """

    name: str
    title: str
    code: str
    team: str
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    settings: tuple[str, ...]
    headings: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "billing", "Billing", "BIL", "Finance",
        ("invoice", "subscription", "seat", "payment method", "credit note", "billing contact",
         "tax ID", "renewal", "discount code", "purchase order", "overage charge", "refund"),
        ("charge", "prorate", "refund", "renew", "upgrade", "downgrade", "invoice", "cancel"),
        ("annual", "monthly", "overdue", "prorated", "taxable", "unpaid"),
        ("billing_cycle", "invoice_currency", "auto_renew", "payment_retry_days", "po_number"),
        ("Billing Cycles", "Invoices and Receipts", "Payment Methods", "Taxes", "Failed Payments",
         "Refunds"),
    ),
    Topic(
        "security", "Security", "SEC", "Security",
        ("identity provider", "session", "access token", "certificate", "password policy",
         "login attempt", "role", "permission", "API key", "audit event", "two-factor code",
         "allowlist"),
        ("authenticate", "revoke", "rotate", "encrypt", "enforce", "audit", "verify", "expire"),
        ("expired", "signed", "encrypted", "privileged", "suspicious", "federated"),
        ("session_timeout_minutes", "require_2fa", "sso_enforced", "key_rotation_days",
         "ip_allowlist"),
        ("Single Sign-On", "Roles and Permissions", "Session Management", "API Keys",
         "Audit Trail", "Hardening Checklist"),
    ),
    Topic(
        "connectors", "Data Connectors", "CONN", "Integrations",
        ("connector", "warehouse", "replica", "schema", "table", "sync job", "replication slot",
         "service account", "egress address", "SSH tunnel", "credential", "cursor column"),
        ("sync", "replicate", "connect", "grant", "backfill", "pause", "resume", "tunnel"),
        ("incremental", "read-only", "stale", "partitioned", "unreachable", "historical"),
        ("sync_interval_minutes", "ssl_mode", "max_parallel_tables", "backfill_days",
         "cursor_field"),
        ("Supported Sources", "Network Access", "Permissions", "Sync Schedules",
         "Schema Changes", "Connection Errors"),
    ),
    Topic(
        "dashboards", "Dashboards", "DSH", "Product",
        ("dashboard", "tile", "chart", "filter", "folder", "public link", "embed", "annotation",
         "drill-down", "legend", "layout", "snapshot"),
        ("share", "embed", "pin", "filter", "duplicate", "annotate", "publish", "arrange"),
        ("shared", "embedded", "interactive", "read-only", "cross-filtered", "pinned"),
        ("default_theme", "allow_public_links", "link_expiry_days", "tile_refresh_seconds",
         "max_tiles"),
        ("Creating Dashboards", "Sharing", "Filters", "Embedding", "Layouts", "Permissions"),
    ),
    Topic(
        "alerting", "Alerting", "ALR", "Reliability",
        ("alert", "threshold", "webhook", "notification channel", "escalation policy",
         "quiet hour", "on-call rotation", "incident", "digest", "signature", "delivery attempt",
         "snooze"),
        ("notify", "escalate", "snooze", "acknowledge", "resolve", "trigger", "retry", "mute"),
        ("firing", "resolved", "noisy", "anomalous", "critical", "silenced"),
        ("evaluation_interval", "consecutive_breaches", "webhook_timeout_seconds",
         "max_retries", "quiet_hours"),
        ("Creating Alerts", "Notification Channels", "Webhook Payloads", "Escalation",
         "Retries and Failures", "Reducing Noise"),
    ),
    Topic(
        "api", "API", "API", "Platform",
        ("endpoint", "request", "rate limit", "token bucket", "response header", "pagination cursor",
         "idempotency key", "scope", "payload", "status code", "client library", "version"),
        ("paginate", "throttle", "authenticate", "retry", "batch", "deprecate", "serialize",
         "validate"),
        ("idempotent", "paginated", "deprecated", "throttled", "versioned", "malformed"),
        ("requests_per_minute", "burst_size", "page_size", "max_body_mb", "idempotency_ttl_hours"),
        ("Authentication", "Rate Limits", "Pagination", "Error Codes", "Versioning",
         "Retries"),
    ),
    Topic(
        "retention", "Data Governance", "GOV", "Privacy",
        ("retention period", "erasure request", "data subject", "backup", "purge job",
         "deletion certificate", "processor", "consent record", "region", "legal hold",
         "anonymous identifier", "export archive"),
        ("retain", "purge", "erase", "anonymize", "export", "archive", "restrict", "certify"),
        ("personal", "anonymized", "regional", "compliant", "archived", "pending"),
        ("retention_days", "purge_hour_utc", "erasure_sla_days", "legal_hold", "data_region"),
        ("Retention Periods", "Erasure Requests", "Data Residency", "Backups", "Legal Holds",
         "Sub-processors"),
    ),
    Topic(
        "performance", "Query Performance", "PERF", "Query Engine",
        ("query", "cache entry", "rollup", "partition", "index", "result set", "query plan",
         "timeout", "scan", "join", "materialized view", "concurrency slot"),
        ("cache", "partition", "aggregate", "optimize", "index", "prune", "materialize", "queue"),
        ("slow", "cached", "partitioned", "high-cardinality", "concurrent", "materialized"),
        ("cache_ttl_minutes", "query_timeout_seconds", "max_result_rows", "max_concurrent_queries",
         "rollup_granularity"),
        ("How Queries Run", "Caching", "Rollups", "Timeouts and Limits", "Query Inspector",
         "Tuning Checklist"),
    ),
    Topic(
        "mobile", "Mobile App", "MOB", "Mobile",
        ("mobile app", "offline snapshot", "device", "push notification", "sync queue",
         "local cache", "biometric lock", "widget", "tablet layout", "app version",
         "remote wipe", "data plan"),
        ("download", "sync", "wipe", "pin", "unlock", "notify", "refresh", "queue"),
        ("offline", "encrypted", "pinned", "expired", "managed", "background"),
        ("offline_enabled", "wifi_only_downloads", "cache_limit_mb", "snapshot_ttl_days",
         "require_biometrics"),
        ("Offline Access", "Push Notifications", "Device Management", "Sync and Conflicts",
         "Storage", "Known Limitations"),
    ),
    Topic(
        "onboarding", "Onboarding", "ONB", "Customer Success",
        ("workspace", "invitation", "member", "group", "trial", "checklist", "landing page",
         "training course", "owner", "default role", "CSV upload", "welcome email"),
        ("invite", "onboard", "configure", "assign", "import", "train", "welcome", "organize"),
        ("new", "pending", "default", "guided", "bulk", "first"),
        ("invite_expiry_days", "default_role", "trial_days", "max_csv_rows", "landing_dashboard"),
        ("Getting Started", "Inviting Members", "Groups", "First Data Source",
         "First-Week Checklist", "Training"),
    ),
    Topic(
        "incidents", "Incident Reviews", "INC", "SRE",
        ("outage", "deploy", "rollback", "root cause", "timeline", "action item", "canary",
         "connection pool", "retry storm", "status page", "migration", "postmortem"),
        ("deploy", "roll back", "mitigate", "detect", "escalate", "page", "diagnose", "review"),
        ("degraded", "blameless", "saturated", "partial", "cascading", "unplanned"),
        ("max_connections", "canary_percent", "error_budget", "pool_timeout_seconds",
         "rollback_window"),
        ("Summary", "Impact", "Timeline", "Root Cause", "Action Items", "Lessons Learned"),
    ),
    Topic(
        "releases", "Release Notes", "REL", "Product",
        ("release", "feature flag", "beta", "deprecation", "chart type", "upgrade path",
         "changelog", "bug fix", "editor", "export", "theme", "self-hosted installation"),
        ("release", "deprecate", "upgrade", "enable", "remove", "migrate", "announce", "ship"),
        ("new", "deprecated", "experimental", "stable", "legacy", "faster"),
        ("feature_flags", "release_channel", "export_row_limit", "legacy_editor",
         "upgrade_window"),
        ("Highlights", "Improvements", "Deprecations", "Bug Fixes", "Upgrade Notes",
         "Known Issues"),
    ),
)
TOPICS_BY_NAME = {topic.name: topic for topic in TOPICS}

PRODUCTS = ("Larkspur", "Bluefin", "Quarry", "Halcyon", "Northwind")
PLANS = ("Starter", "Team", "Business", "Enterprise")
ROLES = ("Owner", "Admin", "Editor", "Viewer")
REGIONS = ("Frankfurt", "Virginia", "Oregon", "Dublin", "Singapore", "Sydney")
UNITS = ("seconds", "minutes", "hours", "days")
SIZE_UNITS = ("KB", "MB", "GB")
PERIODS = ("day", "week", "month", "quarter")
STATES = ("Ready", "Completed", "Idle", "Healthy", "Synced")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
GENERIC_ADJECTIVES = ("large", "small", "new", "existing", "default", "custom", "shared",
                      "critical", "optional", "separate", "busy", "quiet")
GENERIC_HEADINGS = ("Overview", "Configuration", "Limits", "Best Practices", "Troubleshooting",
                    "Frequently Asked Questions")
VALUES = ("true", "false", "strict", "lenient", "auto", "off", "daily", "hourly")

SENTENCES = (
    "{Product} {verb3} the {noun} for each {noun2} and keeps it for {num} {unit}.",
    "Admins can {verb} a {adj} {noun} under Settings > {Area} > {Noun}.",
    "If {setting} is set to {value}, the {noun} is skipped and error {code} is returned.",
    "The default value of {setting} is {num}, and the maximum allowed on the {plan} plan is {big}.",
    "Ask the {team} team before you {verb} a {adj} {noun} in production.",
    "{Role}s can {verb} any {noun}, while {role2}s only see the ones shared with them.",
    "In version {version}, the {noun} started to {verb} the {noun2} automatically.",
    "A {adj} {noun} usually points to a misconfigured {noun2}.",
    "Use the {setting} option to {verb} the {noun} without touching the {noun2}.",
    "We measured a {num}% improvement after the {team} team changed how the {noun} works.",
    "Each {noun} belongs to exactly one {noun2}, which makes {adj} reports easier to read.",
    "Support tickets about the {noun} often mention {code}, which appears when the {noun2} is {adj}.",
    "Do not {verb} the {noun} while a {noun2} is running; wait until the status shows {state}.",
    "Every {noun} is stored in {region} and copied to a second zone every {num} {unit}.",
    "For a {adj} setup, combine the {noun} with a dedicated {noun2}.",
    "Customers on the {plan} plan can {verb} up to {big} {nouns} per {noun2}.",
    "The {Noun} page lists every {noun2} together with its owner and the date of its last change.",
    "Before {month} {year}, the {noun} would {verb} the {noun2} on every request.",
    "Set {setting} to {value} if your {noun} is larger than {num} {size_unit}.",
    "Errors such as {code} are logged with the {noun} id so that the {team} team can trace them.",
    "A {noun} cannot be recovered once its {noun2} has been deleted.",
    "We recommend that you {verb} each {adj} {noun} at least once per {period}.",
    "{Product} warns the {role} by email {num} {unit} before a {noun} reaches its limit.",
    "When the {noun} is {adj}, {product} will {verb} the {noun2} and record it in the activity log.",
    "Most teams {verb} the {noun} through the API rather than by hand.",
    "The {noun} and the {noun2} are independent, so changing one never affects the other.",
)
BULLETS = (
    "{Setting}: {num} {unit} by default.",
    "{Verb} the {noun} before you {verb2} the {noun2}.",
    "Error {code}: the {noun} is {adj}.",
    "{Plan} plan: up to {big} {nouns}.",
    "Check the {noun} in {region} first.",
    "{Role}s only: {verb} a {adj} {noun}.",
)
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")


def _plural(noun: str) -> str:
    """English plural of the last word of ``noun`` (good enough for the vocabulary above)."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _third_person(verb: str) -> str:
    """Third-person singular of a base-form verb; only the first word is inflected."""
    head, _, tail = verb.partition(" ")
    return _plural(head) + (" " + tail if tail else "")


def _capitalize(text: str) -> str:
    """Upper-case the first character only (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


class _Writer:
    """Fills sentence templates from one topic's vocabulary with one random generator."""

    def __init__(self, topic: Topic, product: str, rng: random.Random) -> None:
        self.topic = topic
        self.product = product
        self.rng = rng

    def slot(self, name: str) -> str:
        """Value for one template slot; a capitalised slot name gives a capitalised value."""
        rng, topic = self.rng, self.topic
        lower = name.lower()
        if lower in ("noun", "noun2"):
            value = rng.choice(topic.nouns)
        elif lower == "nouns":
            value = _plural(rng.choice(topic.nouns))
        elif lower in ("verb", "verb2"):
            value = rng.choice(topic.verbs)
        elif lower == "verb3":
            value = _third_person(rng.choice(topic.verbs))
        elif lower == "adj":
            value = rng.choice(topic.adjectives + GENERIC_ADJECTIVES)
        elif lower == "setting":
            value = rng.choice(topic.settings)
            return f"`{value}`" if name[0].islower() else value
        elif lower == "code":
            value = f"{topic.code}-{rng.randint(100, 999)}"
        elif lower == "num":
            value = str(rng.choice((2, 3, 5, 7, 10, 12, 14, 15, 20, 24, 25, 30, 45, 60, 90)))
        elif lower == "big":
            value = f"{rng.choice((50, 100, 200, 500, 1000, 2500, 5000, 10000)):,}"
        elif lower == "version":
            value = f"{rng.randint(2, 6)}.{rng.randint(0, 9)}"
        elif lower == "year":
            value = str(rng.randint(2019, 2025))
        elif lower == "area":
            value = topic.title
        elif lower == "product":
            value = self.product
        else:
            value = rng.choice({
                "team": (topic.team,), "value": VALUES, "plan": PLANS, "role": ROLES,
                "role2": ROLES, "region": REGIONS, "unit": UNITS, "size_unit": SIZE_UNITS,
                "period": PERIODS, "state": STATES, "month": MONTHS,
            }[lower])
        return _capitalize(value) if name[0].isupper() else value

    def fill(self, template: str) -> str:
        """Fill every slot of a template, then turn "a" into "an" before a vowel."""
        text = _SLOT.sub(lambda match: self.slot(match.group(1)), template)
        return _ARTICLE.sub(lambda match: match.group(1) + "n ", text)

    def sentence(self) -> str:
        """One random sentence."""
        return self.fill(self.rng.choice(SENTENCES))

    def paragraph(self, max_words: int) -> str:
        """A paragraph of 2-6 sentences, stopping early once ``max_words`` is reached."""
        sentences: list[str] = []
        words = 0
        for _ in range(self.rng.randint(2, 6)):
            sentence = self.sentence()
            sentences.append(sentence)
            words += len(sentence.split())
            if words >= max_words:
                break
        return " ".join(sentences)

    def bullets(self) -> list[str]:
        """Three to five bullet items."""
        return [self.fill(self.rng.choice(BULLETS)) for _ in range(self.rng.randint(3, 5))]


@dataclass(frozen=True)
class _Section:
    heading: str
    paragraphs: tuple[str, ...]
    bullets: tuple[str, ...]


@dataclass(frozen=True)
class _Document:
    title: str
    sections: tuple[_Section, ...]


def _make_document(rng: random.Random, topic: Topic) -> _Document:
    """Compose one document of 150-600 words with 2-4 sections."""
    writer = _Writer(topic, rng.choice(PRODUCTS), rng)
    title = f"{writer.product} {topic.title}: {_capitalize(rng.choice(topic.nouns))} {rng.choice(('Guide', 'Reference', 'Notes', 'FAQ', 'Overview'))}"
    n_sections = rng.randint(2, 4)
    headings = rng.sample(topic.headings + GENERIC_HEADINGS, n_sections)
    heading_words = len(title.split()) + sum(len(h.split()) for h in headings)
    # Each section may overshoot its share by up to one sentence, hence the margin at the top.
    budget = rng.randint(MIN_WORDS + 5, MAX_WORDS - 100) - heading_words
    per_section = budget // n_sections
    sections = []
    for heading in headings:
        bullets = writer.bullets() if rng.random() < 0.3 else []
        remaining = per_section - sum(len(b.split()) for b in bullets)
        paragraphs = []
        while remaining > 0 or not paragraphs:
            paragraph = writer.paragraph(max(remaining, 20))
            paragraphs.append(paragraph)
            remaining -= len(paragraph.split())
        sections.append(_Section(heading, tuple(paragraphs), tuple(bullets)))
    return _Document(title, tuple(sections))


def _render_markdown(doc: _Document) -> str:
    blocks = [f"# {doc.title}"]
    for section in doc.sections:
        blocks.append(f"## {section.heading}")
        blocks.extend(section.paragraphs)
        if section.bullets:
            blocks.append("\n".join(f"- {item}" for item in section.bullets))
    return "\n\n".join(blocks) + "\n"


def _render_text(doc: _Document) -> str:
    blocks = [doc.title]
    for section in doc.sections:
        blocks.append(section.heading)
        blocks.extend(p.replace("`", "") for p in section.paragraphs)
        if section.bullets:
            blocks.append("\n".join(f"* {item}" for item in section.bullets))
    return "\n\n".join(blocks) + "\n"


def _render_html(doc: _Document) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        f"<head><meta charset=\"utf-8\"><title>{esc(doc.title)}</title></head>",
        "<body>",
        f"<h1>{esc(doc.title)}</h1>",
    ]
    for section in doc.sections:
        parts.append(f"<h2>{esc(section.heading)}</h2>")
        parts.extend(f"<p>{esc(p.replace('`', ''))}</p>" for p in section.paragraphs)
        if section.bullets:
            parts.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in section.bullets) + "</ul>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


_RENDERERS = {".md": _render_markdown, ".txt": _render_text, ".html": _render_html}


def _pick_suffix(rng: random.Random) -> str:
    draw = rng.random()
    if draw < HTML_SHARE:
        return ".html"
    return ".md" if draw < HTML_SHARE + (1 - HTML_SHARE) * MD_SHARE else ".txt"


def generate_corpus(out_dir: Path, n_docs: int, seed: int = 0) -> list[Path]:
    """Write ``n_docs`` synthetic documents under ``out_dir``.

    Files are laid out as ``<topic>/<topic>-<index>.<ext>``. Existing files with the same
    names are overwritten; other files in ``out_dir`` are left alone.

    Args:
        out_dir: Destination folder, created if missing.
        n_docs: Number of documents to write.
        seed: Seed; document ``i`` depends only on ``seed`` and ``i``.

    Returns:
        The written paths, in index order.

    Raises:
        ValueError: when ``n_docs`` is negative.
    """
    if n_docs < 0:
        raise ValueError(f"n_docs must be >= 0, got {n_docs}")
    out_dir = Path(out_dir)
    paths = []
    made_dirs: set[Path] = set()
    for index in range(n_docs):
        rng = random.Random(f"tributary-corpus:{seed}:{index}")
        topic = rng.choice(TOPICS)
        suffix = _pick_suffix(rng)
        doc = _make_document(rng, topic)
        path = out_dir / topic.name / f"{topic.name}-{index:06d}{suffix}"
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_text(_RENDERERS[suffix](doc), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def _is_paragraph(block: str) -> bool:
    """Whether a Markdown/text block is body prose rather than a heading or a bullet list."""
    return block.endswith(".") and not block.startswith(("#", "- ", "* ")) and len(block.split()) > 8


def _mutate_text(text: str, suffix: str, rng: random.Random, writer: _Writer) -> str:
    """Append a new paragraph or replace an existing one; the result always differs."""
    paragraph = writer.paragraph(rng.randint(30, 80))
    if suffix == ".html":
        paragraph_html = f"<p>{html.escape(paragraph.replace('`', ''))}</p>"
        existing = [m for m in re.finditer(r"<p>.*?</p>", text) if m.group(0) != paragraph_html]
        if existing and rng.random() < 0.5:
            match = rng.choice(existing)
            return text[:match.start()] + paragraph_html + text[match.end():]
        cut = text.rfind("</body>")
        cut = len(text) if cut < 0 else cut
        return text[:cut] + paragraph_html + "\n" + text[cut:]
    if suffix != ".md":
        paragraph = paragraph.replace("`", "")
    blocks = text.rstrip("\n").split("\n\n")
    candidates = [i for i, block in enumerate(blocks) if _is_paragraph(block) and block != paragraph]
    if candidates and rng.random() < 0.5:
        blocks[rng.choice(candidates)] = paragraph
    else:
        blocks.append(paragraph)
    return "\n\n".join(blocks) + "\n"


def mutate_corpus(out_dir: Path, fraction: float, seed: int) -> list[Path]:
    """Edit a fraction of the documents under ``out_dir`` in place.

    Each chosen file gets a new paragraph appended or one of its paragraphs replaced (half
    the time each, when it has paragraphs to replace). Only ``.md``, ``.txt`` and ``.html``
    files are considered; hidden files and folders are skipped.

    Args:
        out_dir: A corpus folder, typically written by ``generate_corpus``.
        fraction: Share of files to edit, between 0 and 1; the count is rounded.
        seed: Seed for choosing files and new text; the same corpus and seed give the same edits.

    Returns:
        The changed paths, sorted.

    Raises:
        ValueError: when ``fraction`` is outside [0, 1].
        NotADirectoryError: when ``out_dir`` is not a folder.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise NotADirectoryError(f"corpus folder not found: {out_dir}")
    files = sorted(
        path for path in out_dir.rglob("*")
        if path.suffix in _RENDERERS and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(out_dir).parts)
    )
    chosen = random.Random(f"tributary-mutate:{seed}").sample(files, round(fraction * len(files)))
    for path in chosen:
        relative = path.relative_to(out_dir).as_posix()
        rng = random.Random(f"tributary-mutate:{seed}:{relative}")
        topic = TOPICS_BY_NAME.get(path.parent.name) or rng.choice(TOPICS)
        writer = _Writer(topic, rng.choice(PRODUCTS), rng)
        text = path.read_text(encoding="utf-8")
        path.write_text(_mutate_text(text, path.suffix, rng, writer), encoding="utf-8", newline="\n")
    return sorted(chosen)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: generate a corpus, or mutate one with ``--mutate``."""
    parser = argparse.ArgumentParser(description="Generate (or mutate) a synthetic benchmark corpus.")
    parser.add_argument("out_dir", type=Path, help="corpus folder")
    parser.add_argument("--docs", type=int, default=1000, help="number of documents to generate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--mutate", type=float, metavar="FRACTION",
                        help="instead of generating, edit this fraction of the files already in OUT_DIR")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.mutate is not None:
        paths = mutate_corpus(args.out_dir, args.mutate, args.seed)
        action = "mutated"
    else:
        paths = generate_corpus(args.out_dir, args.docs, args.seed)
        action = "wrote"
    print(f"{action} {len(paths)} documents in {args.out_dir} ({time.perf_counter() - started:.2f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
