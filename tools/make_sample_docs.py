"""Regenerate the generated sample documents in ``data/sample/docs``.

The sample corpus is the internal documentation of "Larkspur", a fictional analytics SaaS.
Most of it is hand-written Markdown, plain text and HTML that lives directly in ``docs/``.
This script writes the rest from the text defined below:

* the binary documents (PDF via fpdf2, DOCX via python-docx, PPTX via python-pptx), and
* two plain-text files whose encoding matters and is easy to destroy with an editor: one
  in UTF-16 with a byte order mark, one in Windows-1252 with accented letters and smart
  quotes. Both use CRLF line endings, as Windows tools write them.

Output is deterministic: PDF metadata and dates are fixed, and the DOCX/PPTX zip
containers are rewritten with fixed member timestamps, so reruns give identical bytes
(with the same library and zlib versions).

Usage::

    python tools/make_sample_docs.py [--out data/sample/docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pptx
from docx.shared import Pt as DocxPt
from fpdf import FPDF
from pptx.util import Inches, Pt

DOCS_DIR = Path(__file__).resolve().parent / "docs"
FIXED_DATE = dt.datetime(2024, 5, 14, 9, 0, 0, tzinfo=dt.timezone.utc)
FIXED_ZIP_TIME = (2024, 5, 14, 9, 0, 0)
AUTHOR = "Larkspur Documentation Team"


@dataclass(frozen=True)
class Section:
    """One headed section of a document.

    Attributes:
        heading: The section heading (a slide title in PPTX).
        paragraphs: Body paragraphs, in order, before any bullets.
        bullets: Bullet items shown after the paragraphs.
        new_page: PDF only: start this section on a new page.
        table: PPTX only: rows of a table (first row is the header) shown instead of bullets.
    """

    heading: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()
    new_page: bool = False
    table: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class SampleDoc:
    """A generated sample document.

    Attributes:
        doc_id: Path relative to the docs folder, with '/' separators.
        title: The document title (first heading; the title slide in PPTX).
        intro: Paragraphs between the title and the first section (the subtitle in PPTX).
        sections: The headed sections.
    """

    doc_id: str
    title: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...]

    @property
    def subject(self) -> str:
        """A one-line description used for document metadata."""
        return f"Larkspur internal documentation: {self.title}"


# --------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------

DATA_RETENTION = SampleDoc(
    doc_id="data-retention.txt",
    title="Data Retention and Deletion (GDPR)",
    intro=(
        "Larkspur stores three kinds of customer data: the raw events your applications send, "
        "the aggregates computed from them, and workspace content such as dashboards and "
        "comments. This document explains how long each kind is kept, how an Owner can change "
        "that, and how to erase a person's data when they exercise their rights under the "
        "GDPR.",
    ),
    sections=(
        Section(
            "Default Retention Periods",
            paragraphs=(
                "Unless you change it, Larkspur keeps data for the following periods:",
            ),
            bullets=(
                "Raw events: 25 months on the Starter, Team and Business plans, and 37 months "
                "on Enterprise.",
                "Aggregated rollups: 7 years. Rollups contain counts and sums only, never user "
                "identifiers, so they are not personal data.",
                "Cached query results: at most 24 hours.",
                "Deleted dashboards and folders: 30 days in the trash, then purged.",
                "Audit logs have their own retention, described in the audit log documentation.",
            ),
        ),
        Section(
            "Changing the Retention Period",
            paragraphs=(
                "Owners can shorten or lengthen the raw event retention under Settings > Data "
                "Governance > Retention. The minimum is 30 days and the maximum is the plan's "
                "default. Because shortening the period deletes data permanently, the dialog "
                "asks you to type the workspace slug to confirm.",
                "Events older than the new period are removed by the nightly purge job, which "
                "runs at 02:00 UTC in the workspace's region. Lengthening the period later does "
                "not bring purged events back. Every change is recorded in the audit log as "
                "retention.policy_changed, with the old and new values.",
            ),
        ),
        Section(
            "Right to Erasure Requests",
            paragraphs=(
                "When a data subject asks to be forgotten under Article 17 of the GDPR, you can "
                "erase every event that belongs to them. Submit the request either in Settings "
                "> Data Governance > Erasure requests, by uploading a list of subject ids, or "
                "through the API with DELETE /v2/subjects/{subject_id} using a key that has the "
                "privacy:write scope.",
                "Each request gets an id starting with er_ and moves through the states "
                "pending, processing and completed. Larkspur deletes all events whose user_id "
                "matches the subject, plus anonymous events linked to it by identity merging. "
                "Requests usually complete within 72 hours; our contractual maximum is 30 days. "
                "Copies in encrypted backups age out within 35 days of completion. Aggregated "
                "rollups are not recomputed, because they contain no personal data.",
            ),
        ),
        Section(
            "Deletion Certificates",
            paragraphs=(
                "When an erasure request completes, Larkspur emails a PDF deletion certificate "
                "to the Data Protection Officer contact configured under Settings > Data "
                "Governance > DPO contact. The certificate lists the request id, the number of "
                "subjects, the number of events deleted and the completion time. Certificates "
                "can be downloaded again for 6 years, which covers the record-keeping periods "
                "most regulators expect.",
            ),
        ),
        Section(
            "Data Residency and Support Access",
            paragraphs=(
                "Workspaces in the EU region are hosted in Frankfurt (AWS eu-central-1) and "
                "workspaces in the US region in Virginia (AWS us-east-1). Data of an EU "
                "workspace, including backups, never leaves the EU. Larkspur support engineers "
                "cannot see your data unless an Admin grants Support access from the Help menu; "
                "the grant expires automatically after 72 hours. The list of sub-processors is "
                "published at larkspur.io/legal/subprocessors, and customers are notified 30 "
                "days before a new sub-processor is added.",
            ),
        ),
        Section(
            "Deleting a Whole Workspace",
            paragraphs=(
                "An Owner can delete the entire workspace under Settings > General > Delete "
                "workspace. Deletion starts with a 14-day grace period during which the "
                "workspace can be restored by contacting support. After the grace period all "
                "events, dashboards and users are purged, and backups are gone within a "
                "further 35 days.",
            ),
        ),
    ),
)

MOBILE_OFFLINE = SampleDoc(
    doc_id="mobile-offline-mode.txt",
    title="Larkspur Mobile – Offline Mode",
    intro=(
        "Larkspur’s iOS and Android apps can keep your most important dashboards available "
        "without a network connection: on a plane, in a warehouse with no signal, or in a café "
        "with unreliable Wi-Fi. Our field sales team in Montréal asked for this feature after "
        "too many client meetings where the numbers simply would not load. This note explains "
        "what works offline, how syncing and conflicts are handled, and the limits you should "
        "know about.",
    ),
    sections=(
        Section(
            "What Works Offline",
            paragraphs=(
                "You can pin up to 25 dashboards for offline use. The app downloads a snapshot "
                "of each pinned dashboard, including every tile and the filter values that were "
                "available at download time. A snapshot stays usable for 14 days; after that "
                "the app shows a “Snapshot expired” banner and greys out the tiles until it can "
                "sync again.",
                "Offline, you can switch between filter values that were downloaded, read and "
                "write comments, and add annotations to charts. Drilling down to raw rows, "
                "running new queries and exporting to CSV need a connection.",
            ),
        ),
        Section(
            "Turning On Offline Access",
            paragraphs=(
                "Open Profile > Offline Access and switch on the toggle, then tap the pin icon "
                "on each dashboard you want to keep. The setting “Download on Wi-Fi only” is on "
                "by default so that large snapshots don’t eat into a mobile data plan. With "
                "background refresh allowed, the app refreshes snapshots every 6 hours; you can "
                "also tap “Sync now” at any time.",
                "Admins can switch the feature off for the whole workspace under Settings > "
                "Mobile > Allow offline access, for example when dashboards contain data that "
                "must never be stored on a phone.",
            ),
        ),
        Section(
            "Sync and Conflict Handling",
            paragraphs=(
                "Comments and annotations written offline are queued on the device and uploaded "
                "in order when the connection returns. Early versions of the app used a naïve "
                "“last write wins” rule that silently dropped one person’s edit when two people "
                "changed the same annotation. Since app version 3.8, Larkspur merges changes "
                "field by field; if both people edited the same text, it keeps both versions "
                "and marks the annotation “Conflict – review” so that someone can pick one.",
                "If a pinned dashboard produces a snapshot larger than 200 MB, the download "
                "fails with error MOB-209 “Snapshot too large”. Remove tiles with very large "
                "tables or narrow the filters before pinning it again.",
            ),
        ),
        Section(
            "Storage and Security",
            paragraphs=(
                "Snapshots are encrypted with AES-256; the key is kept in the iOS Keychain or "
                "the Android Keystore. The offline cache is limited to 2 GB per device by "
                "default, and users can lower it to 500 MB. Admins can require Face ID or a "
                "fingerprint before offline dashboards open.",
                "When an admin removes a device under Settings > Mobile > Devices, or "
                "deactivates the user, the app performs a remote wipe of all offline data the "
                "next time it comes online.",
            ),
        ),
        Section(
            "Known Limitations",
            bullets=(
                "The app requires iOS 16 or Android 11 or later.",
                "Relative date filters such as “Last 7 days” are evaluated when the snapshot is "
                "downloaded, not when you open it: a snapshot taken on Monday still shows the "
                "week ending that Monday.",
                "Map tiles are not available offline; the underlying table is shown instead.",
                "Currency values, for example € amounts, keep the number format of the "
                "workspace rather than the phone’s locale.",
            ),
        ),
    ),
)

POSTMORTEM = SampleDoc(
    doc_id="incident-postmortem-2024-03.pdf",
    title="Incident Postmortem: Query Service Outage, 12 March 2024",
    intro=(
        "Incident INC-2291. Severity SEV-1. Duration 2 hours 47 minutes (14:02 to 16:49 UTC). "
        "Incident commander and author: Priya Natarajan. Status: final, reviewed on 19 March "
        "2024. This postmortem is blameless: it describes what the systems and processes "
        "allowed to happen, not who is at fault.",
    ),
    sections=(
        Section(
            "Summary",
            paragraphs=(
                "On 12 March 2024, dashboard tiles and API queries failed for 38% of workspaces "
                "in the US region for 2 hours and 47 minutes. Users saw tiles with the message "
                "'Query failed, please retry', and the API returned LRK-503 "
                "service_unavailable. Workspaces in the EU region were not affected.",
                "No customer data was lost. Event ingestion is a separate service and kept "
                "accepting events throughout; events were buffered in the ingestion queue and "
                "became queryable as soon as the query service recovered.",
            ),
        ),
        Section(
            "Customer Impact",
            bullets=(
                "About 1.2 million queries failed, from dashboards, the API and scheduled jobs.",
                "412 scheduled reports were not delivered on time; all were re-sent by "
                "18:30 UTC.",
                "Alerts were evaluated late, by up to 3 hours, and some fired after the "
                "underlying problem had already cleared.",
                "Enterprise customers in the US region automatically received a 10% service "
                "credit for March, shown on their April invoice, as our 99.9% uptime SLA "
                "requires.",
            ),
        ),
        Section(
            "Timeline (UTC)",
            new_page=True,
            bullets=(
                "14:02 - query-router v7.3.1 is deployed to the US region.",
                "14:09 - the error-rate alert for query-router fires; p99 latency reaches "
                "45 seconds.",
                "14:16 - the on-call engineer, Tomas Reyes, acknowledges the page and first "
                "suspects the warehouse provider.",
                "14:25 - SEV-1 is declared and the status page is updated.",
                "14:48 - connection pool saturation is identified on the query-router "
                "dashboards.",
                "15:10 - a rollback to v7.3.0 is attempted and fails, because database "
                "migration 0419, shipped with v7.3.1, had already changed the routing table.",
                "15:35 - the team decides to fix forward instead of rolling back.",
                "16:20 - hotfix v7.3.2 with the corrected pool size is deployed to a 5% canary.",
                "16:41 - v7.3.2 is rolled out to all US query-router pods.",
                "16:49 - error rates are back to normal and the incident is resolved.",
            ),
        ),
        Section(
            "Root Cause",
            new_page=True,
            paragraphs=(
                "Release v7.3.1 moved the query-router configuration from environment "
                "variables into the Helm values file. During the move, the per-pod setting "
                "max_connections was typed as 40 instead of 400. At normal afternoon load the "
                "40 connections were exhausted within minutes. New queries waited for a "
                "connection, hit the 30-second pool timeout and failed.",
                "The failures then amplified themselves. The dashboard client retried every "
                "failed tile three times, which roughly tripled the load on an already "
                "saturated pool: a classic retry storm. The configuration review did not catch "
                "the typo because the diff showed a moved file rather than a changed value, and "
                "the staging environment, at about 2% of production traffic, never came close "
                "to 40 concurrent connections.",
            ),
        ),
        Section(
            "What Went Well and What Went Poorly",
            paragraphs=(
                "Detection was fast: the error-rate alert fired seven minutes after the deploy, "
                "and ingestion was fully isolated from the failure. The status page was updated "
                "within 25 minutes of the first alert.",
                "On the other hand, the rollback was blocked by a migration that was not "
                "backward-compatible, and the team spent about 20 minutes investigating the "
                "warehouse provider before looking at the router itself. There was no panel "
                "showing connection pool saturation, so the cause was found by reading logs.",
            ),
        ),
        Section(
            "Action Items",
            bullets=(
                "Deploy every query-router release to a 5% canary for 30 minutes, with "
                "automatic rollback when the error rate exceeds 1%. Owner: Platform team. "
                "Done on 15 April 2024.",
                "Add a configuration lint rule that rejects a pool size outside 100 to 2,000. "
                "Owner: Tomas Reyes.",
                "Require database migrations to stay backward-compatible for one release "
                "(expand and contract), so that rollbacks always work.",
                "Limit dashboard tile retries to one, with jitter, and add server-side load "
                "shedding that returns LRK-503 with a Retry-After header.",
                "Add a connection pool saturation panel and an alert at 80% utilisation.",
            ),
        ),
    ),
)

QUERY_PERFORMANCE = SampleDoc(
    doc_id="query-performance.pdf",
    title="Query Performance Tuning",
    intro=(
        "Slow dashboards are the most common complaint we hear from growing teams. This guide "
        "explains where the time goes when Larkspur runs a query, which features make queries "
        "faster, what the limits are, and how to read the warnings in the Query Inspector.",
    ),
    sections=(
        Section(
            "How Larkspur Runs a Query",
            paragraphs=(
                "Each dashboard tile is compiled into SQL and pushed down to the data source: "
                "Snowflake, BigQuery, PostgreSQL or Larkspur's own event store. Larkspur only "
                "post-processes the result, for example to pivot it or compute a running "
                "total. In practice this means that the speed of a tile depends mostly on the "
                "warehouse: its size, how the tables are partitioned and how much data the "
                "query scans.",
            ),
        ),
        Section(
            "Smart Cache",
            paragraphs=(
                "Results are cached by Smart Cache, keyed by the generated SQL, the active "
                "filters, the viewer's time zone and the data source. The default time-to-live "
                "is 15 minutes and can be set per data source, from 1 minute to 24 hours, under "
                "Data > Sources > Cache. The cache for a source is invalidated automatically "
                "when a connector sync finishes, so synced data never looks stale. A lightning "
                "icon on a tile shows that it was served from the cache; the Refresh button "
                "bypasses the cache for everyone viewing the dashboard.",
            ),
        ),
        Section(
            "Rollup Tables",
            paragraphs=(
                "For dashboards over billions of events, define rollup tables under Data > "
                "Rollups. A rollup pre-aggregates a fact table at hourly or daily granularity "
                "for a chosen set of dimensions. Larkspur rewrites queries to use a rollup "
                "automatically whenever the tile's dimensions and filters are covered by it, "
                "which typically makes the tile 10 to 50 times faster. Rollups are refreshed "
                "after every sync, and their storage counts towards your warehouse bill.",
            ),
        ),
        Section(
            "Limits and Timeouts",
            bullets=(
                "Interactive queries time out after 120 seconds with error LRK-Q408 "
                "query_timeout.",
                "Scheduled reports and exports may run for up to 30 minutes.",
                "The web interface shows at most 1,000,000 result rows; use an export for more.",
                "A workspace runs at most 50 queries concurrently; further queries wait in a "
                "queue and the tile shows 'Queued'.",
            ),
        ),
        Section(
            "Diagnosing Slow Queries",
            paragraphs=(
                "Open the tile menu and choose Inspect to open the Query Inspector. It shows the "
                "generated SQL, the time spent in the warehouse versus in Larkspur, the bytes "
                "scanned and whether the cache was used. It also raises warnings:",
            ),
            bullets=(
                "LRK-W102 Full scan on unpartitioned table: partition or cluster the table by "
                "event date so that date filters can prune it.",
                "LRK-W215 High-cardinality group by: the query produces more than 100,000 "
                "groups; add a filter or show only the top N values.",
                "LRK-W301 Cross-source join: the join runs in Larkspur's memory; move both "
                "tables into the same warehouse.",
            ),
        ),
    ),
)

BILLING = SampleDoc(
    doc_id="billing-invoices.docx",
    title="Billing and Invoices",
    intro=(
        "This page is for Owners and billing contacts. It explains when Larkspur charges you, "
        "where to find invoices, which payment methods we accept, how taxes are handled and "
        "what happens when a payment fails.",
    ),
    sections=(
        Section(
            "Billing Cycles",
            paragraphs=(
                "Every paid plan can be billed monthly or annually. Monthly subscriptions are "
                "charged on the same day each month as the subscription started; annual "
                "subscriptions are paid upfront on the anniversary date and cost 15% less than "
                "twelve monthly payments.",
                "Seats added in the middle of a cycle are charged pro rata on the next invoice. "
                "Seats you remove stay billable until the end of the current period; the "
                "reduction applies from the next renewal.",
            ),
        ),
        Section(
            "Invoices",
            paragraphs=(
                "An invoice is created automatically at the start of each billing period. "
                "Invoice numbers follow the format LRK-INV-2024-000123: the year followed by a "
                "six-digit sequence. Owners and billing contacts can download every invoice as "
                "a PDF under Settings > Billing > Invoices, and up to three billing contacts "
                "receive each invoice by email.",
                "If your company needs a purchase order number on invoices, enter it in the PO "
                "number field before the period starts. A change of company name or address "
                "only affects future invoices; we reissue a past invoice once on request within "
                "90 days of its date.",
            ),
        ),
        Section(
            "Payment Methods",
            bullets=(
                "Credit and debit cards (Visa, Mastercard, American Express) on every plan; "
                "cards are charged on the invoice date.",
                "ACH direct debit for US bank accounts and SEPA Direct Debit for EU bank "
                "accounts.",
                "Bank wire transfer, only for annual contracts above $10,000. Invoices paid by "
                "wire or debit are due net 30.",
                "Invoices are issued in USD, EUR or GBP. The currency is chosen at the first "
                "purchase and cannot change during a contract.",
            ),
        ),
        Section(
            "Taxes and VAT",
            paragraphs=(
                "US customers are charged sales tax based on the billing address. Businesses in "
                "the EU should enter their VAT ID under Settings > Billing > Tax details: the "
                "ID is validated against the VIES service, and valid IDs are invoiced under the "
                "reverse-charge mechanism with no VAT added. If validation fails, VAT is charged "
                "at the rate of your country until a valid ID is saved; VAT already charged is "
                "not refunded retroactively.",
            ),
        ),
        Section(
            "Failed Payments",
            paragraphs=(
                "When a card is declined, the billing page shows BIL-402 Payment method "
                "declined. We retry the charge 3, 5 and 7 days after the due date and email "
                "every Owner each time. If an invoice is still unpaid 21 days after the due "
                "date, the workspace becomes read-only: dashboards stay visible, but nobody can "
                "edit them and connector syncs pause. After 45 days the workspace is suspended, "
                "and data of a suspended workspace is deleted 90 days later.",
            ),
        ),
        Section(
            "Refunds and Credits",
            paragraphs=(
                "Annual plans can be cancelled for a pro-rata refund within 30 days of "
                "purchase. Otherwise we do not refund partial periods. Service credits, such "
                "as SLA credits after an incident, appear as negative line items on the next "
                "invoice and expire after 12 months.",
            ),
        ),
    ),
)

CONNECTORS = SampleDoc(
    doc_id="guides/data-connectors.docx",
    title="Data Connectors: PostgreSQL and Snowflake",
    intro=(
        "Larkspur connects to more than 30 databases, warehouses and SaaS tools. This guide "
        "covers the two most popular, PostgreSQL and Snowflake: the network access they need, "
        "the least privileges to grant, and the connection errors support sees most often.",
    ),
    sections=(
        Section(
            "Live and Sync Modes",
            paragraphs=(
                "A connector works in one of two modes. In Live mode, every dashboard query is "
                "sent straight to your database, so results are always current. In Sync mode, "
                "Larkspur copies the selected tables into its managed storage on a schedule. "
                "Syncs run every 15 minutes by default; the shortest interval is 5 minutes on "
                "Enterprise and 15 minutes on other paid plans, and Starter workspaces sync "
                "hourly.",
            ),
        ),
        Section(
            "Network Access",
            paragraphs=(
                "Larkspur always connects from fixed egress IP addresses. Add them to your "
                "firewall allowlist or cloud security group: 34.120.18.7 and 34.120.18.9 for "
                "the US region, 35.198.77.20 and 35.198.77.21 for the EU region. If your "
                "database is not reachable from the internet, use an SSH tunnel through a "
                "bastion host, or AWS PrivateLink on the Enterprise plan.",
            ),
        ),
        Section(
            "PostgreSQL",
            paragraphs=(
                "PostgreSQL 11 and later is supported, including Amazon RDS, Aurora, Google "
                "Cloud SQL and Azure Database for PostgreSQL. Connect to a read replica rather "
                "than the primary, and create a dedicated read-only user:",
                "CREATE USER larkspur_reader WITH PASSWORD '...'; "
                "GRANT USAGE ON SCHEMA public TO larkspur_reader; "
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO larkspur_reader;",
                "TLS is required on port 5432 and we recommend sslmode=verify-full. For "
                "incremental syncs, Larkspur uses logical replication with the pgoutput "
                "plugin: set wal_level = logical, create a publication named larkspur_pub, and "
                "Larkspur creates the replication slot larkspur_slot. An unconsumed slot keeps "
                "WAL files on disk, so Larkspur alerts the connector owner when slot lag "
                "exceeds 10 GB.",
            ),
        ),
        Section(
            "Snowflake",
            paragraphs=(
                "Use key-pair authentication for the Larkspur service user; password "
                "authentication still works but is being phased out for service accounts. "
                "Create a role LARKSPUR_READER and a user LARKSPUR_SVC, and give Larkspur its "
                "own warehouse, LARKSPUR_WH, of size X-SMALL with AUTO_SUSPEND = 60 seconds so "
                "that you can see and cap its cost. Grant the role USAGE on the warehouse, "
                "database and schemas, and SELECT on future tables so that new tables appear "
                "without another grant.",
                "Enter the account identifier in the orgname-accountname format. Every query "
                "Larkspur runs carries the query tag larkspur, which makes its cost easy to "
                "find in the QUERY_HISTORY view.",
            ),
        ),
        Section(
            "Troubleshooting Connection Errors",
            paragraphs=(
                "The Test connection button runs every check below and reports the first "
                "failure.",
            ),
            bullets=(
                "CONN-1042 SSL handshake failed: the server does not offer TLS 1.2 or later, or "
                "its certificate does not match the host name.",
                "CONN-2001 Insufficient privileges: a USAGE or SELECT grant is missing for the "
                "Larkspur user or role.",
                "CONN-3007 Network unreachable: the egress IP addresses are not on your "
                "allowlist.",
                "CONN-4010 Warehouse suspended: the Snowflake warehouse is suspended and the "
                "role lacks the OPERATE privilege needed to resume it.",
            ),
        ),
    ),
)

PRICING = SampleDoc(
    doc_id="pricing-tiers-faq.pptx",
    title="Larkspur Pricing Tiers: Frequently Asked Questions",
    intro=("Sales enablement deck, updated May 2024",),
    sections=(
        Section(
            "The Four Plans at a Glance",
            table=(
                ("Plan", "Price", "Events per month", "Highlights"),
                ("Starter", "Free", "1 million", "Up to 3 users, 5 dashboards"),
                ("Team", "$25 per user per month", "20 million", "Unlimited dashboards, Slack alerts"),
                ("Business", "$60 per user per month", "100 million", "SSO, 90-day audit log, 1-minute alerts"),
                ("Enterprise", "Custom, annual only", "Custom", "SCIM, 400-day audit log, 99.9% SLA"),
            ),
        ),
        Section(
            "What Counts as an Event?",
            bullets=(
                "An event is one tracked action sent through the Larkspur SDKs or the "
                "ingestion API: a page view, a click, a server-side call.",
                "Rows read from a connected warehouse in Live mode are never counted.",
                "Rows copied in Sync mode count once, on their first sync.",
                "Usage resets on the first day of each billing period and is shown under "
                "Settings > Billing > Usage, with email warnings at 80% and 100%.",
            ),
        ),
        Section(
            "Overages and Plan Changes",
            bullets=(
                "Going over the included events never drops data on Team and Business: extra "
                "events are billed at $0.25 per 10,000 events.",
                "Starter workspaces stop ingesting at 1 million events until the next month or "
                "an upgrade.",
                "Upgrades take effect immediately and are prorated.",
                "Downgrades take effect at the end of the current billing period.",
            ),
        ),
        Section(
            "Who Needs a Paid Seat?",
            bullets=(
                "Owners, Admins and Editors always need a paid seat.",
                "Viewers are free on Business and Enterprise; Team includes 10 free viewers, "
                "after which each viewer is a paid seat.",
                "People who only see embedded dashboards in your product never count as seats.",
            ),
        ),
        Section(
            "Discounts",
            bullets=(
                "Annual billing saves 15% compared with paying monthly.",
                "Registered nonprofits get 50% off Team and Business.",
                "Universities can use Business free of charge for teaching.",
                "Larkspur Launch: one year of Business free for startups founded in the last "
                "3 years with less than $5 million in funding.",
            ),
        ),
        Section(
            "Still Have Questions?",
            bullets=(
                "Every new workspace starts with a 14-day trial of Business, no card needed.",
                "Enterprise quotes are sent within 2 business days of a request.",
                "Contact sales@larkspur.io or book a call from the pricing page.",
            ),
        ),
    ),
)

DOCUMENTS: tuple[SampleDoc, ...] = (
    DATA_RETENTION,
    MOBILE_OFFLINE,
    POSTMORTEM,
    QUERY_PERFORMANCE,
    BILLING,
    CONNECTORS,
    PRICING,
)


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------


def render_plain_text(doc: SampleDoc, newline: str = "\n") -> str:
    """Render a document as plain text: headings on their own lines, blank lines between blocks.

    Args:
        doc: The document to render.
        newline: The line ending to use.

    Returns:
        The text, ending with a newline.
    """
    blocks: list[str] = [doc.title, *doc.intro]
    for section in doc.sections:
        blocks.append(section.heading)
        blocks.extend(section.paragraphs)
        if section.bullets:
            blocks.append(newline.join(f"- {item}" for item in section.bullets))
    return (newline * 2).join(blocks) + newline


def write_utf16_text(doc: SampleDoc, path: Path) -> None:
    """Write a document as UTF-16 little-endian text with a byte order mark and CRLF line endings."""
    path.write_bytes(b"\xff\xfe" + render_plain_text(doc, "\r\n").encode("utf-16-le"))


def write_cp1252_text(doc: SampleDoc, path: Path) -> None:
    """Write a document as Windows-1252 text with CRLF line endings.

    Raises:
        UnicodeEncodeError: when the text has a character that Windows-1252 cannot encode.
    """
    path.write_bytes(render_plain_text(doc, "\r\n").encode("cp1252"))


class _SamplePDF(FPDF):
    """An A4 PDF with a small running footer showing the page number."""

    def footer(self) -> None:
        """Draw the page number at the bottom of each page."""
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 10, f"Larkspur internal - page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)


def write_pdf(doc: SampleDoc, path: Path) -> None:
    """Write a document as a PDF with a large bold title and bold section headings.

    The core Helvetica font only covers Latin-1, so PDF content must stay within it.
    """
    pdf = _SamplePDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(doc.title)
    pdf.set_author(AUTHOR)
    pdf.set_subject(doc.subject)
    pdf.set_creator("tools/make_sample_docs.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("en")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=18)
    pdf.multi_cell(0, 9, doc.title)
    pdf.ln(3)
    pdf.set_font("Helvetica", size=11)
    for paragraph in doc.intro:
        pdf.multi_cell(0, 5.5, paragraph)
        pdf.ln(2)
    for section in doc.sections:
        if section.new_page:
            pdf.add_page()
        else:
            pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=14)
        pdf.multi_cell(0, 7, section.heading)
        pdf.ln(1)
        pdf.set_font("Helvetica", size=11)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, 5.5, paragraph)
            pdf.ln(2)
        for item in section.bullets:
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(0, 5.5, f"-  {item}")
            pdf.ln(1)
    path.write_bytes(bytes(pdf.output()))


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed member timestamps and attributes, keeping member order.

    python-docx and python-pptx stamp every zip member with the current time, so two runs
    would otherwise differ.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


def write_docx(doc: SampleDoc, path: Path) -> None:
    """Write a document as DOCX: the title in Heading 1, sections in Heading 2, bullets as List Bullet."""
    document = docx.Document()
    props = document.core_properties
    naive_date = FIXED_DATE.replace(tzinfo=None)
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = doc.title
    props.subject = doc.subject
    props.created = naive_date
    props.modified = naive_date
    props.last_printed = naive_date
    props.revision = 1
    document.styles["Normal"].font.size = DocxPt(11)

    document.add_heading(doc.title, level=1)
    for paragraph in doc.intro:
        document.add_paragraph(paragraph)
    for section in doc.sections:
        document.add_heading(section.heading, level=2)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
        for item in section.bullets:
            document.add_paragraph(item, style="List Bullet")

    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_normalize_zip(buffer.getvalue()))


def write_pptx(doc: SampleDoc, path: Path) -> None:
    """Write a document as PPTX: a title slide, then one slide per section (bullets or a table)."""
    presentation = pptx.Presentation()
    presentation.slide_width = Inches(13.333)
    presentation.slide_height = Inches(7.5)
    props = presentation.core_properties
    naive_date = FIXED_DATE.replace(tzinfo=None)
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = doc.title
    props.subject = doc.subject
    props.created = naive_date
    props.modified = naive_date
    props.last_printed = naive_date
    props.revision = 1

    title_layout, content_layout, title_only_layout = (presentation.slide_layouts[i] for i in (0, 1, 5))
    slide = presentation.slides.add_slide(title_layout)
    slide.shapes.title.text = doc.title
    slide.placeholders[1].text = "\n".join(doc.intro)

    for section in doc.sections:
        if section.table:
            slide = presentation.slides.add_slide(title_only_layout)
            slide.shapes.title.text = section.heading
            rows, cols = len(section.table), len(section.table[0])
            shape = slide.shapes.add_table(rows, cols, Inches(0.6), Inches(1.8), Inches(12.1), Inches(0.6) * rows)
            for r, row in enumerate(section.table):
                for c, value in enumerate(row):
                    cell = shape.table.cell(r, c)
                    cell.text = value
                    cell.text_frame.paragraphs[0].font.size = Pt(16)
            continue
        slide = presentation.slides.add_slide(content_layout)
        slide.shapes.title.text = section.heading
        body = slide.placeholders[1]
        body.left, body.top, body.width, body.height = Inches(0.6), Inches(1.6), Inches(12.1), Inches(5.4)
        frame = body.text_frame
        for i, text in enumerate((*section.paragraphs, *section.bullets)):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.text = text
            paragraph.font.size = Pt(20)

    buffer = io.BytesIO()
    presentation.save(buffer)
    path.write_bytes(_normalize_zip(buffer.getvalue()))


WRITERS: dict[str, Callable[[SampleDoc, Path], None]] = {
    "data-retention.txt": write_utf16_text,
    "mobile-offline-mode.txt": write_cp1252_text,
}
"""Writers for documents whose suffix alone does not decide how they are written."""

SUFFIX_WRITERS: dict[str, Callable[[SampleDoc, Path], None]] = {
    ".pdf": write_pdf,
    ".docx": write_docx,
    ".pptx": write_pptx,
}


def write_documents(out_dir: Path, documents: tuple[SampleDoc, ...] = DOCUMENTS) -> list[Path]:
    """Write every generated document under ``out_dir``.

    Args:
        out_dir: The docs folder; subfolders named in document ids are created.
        documents: The documents to write.

    Returns:
        The written paths, in the order of ``documents``.
    """
    written = []
    for doc in documents:
        path = out_dir / doc.doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = WRITERS.get(doc.doc_id) or SUFFIX_WRITERS[path.suffix]
        writer(doc, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: write the generated documents and list them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_DIR, help="docs folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in write_documents(args.out):
        print(f"{path.stat().st_size:>8}  {path.relative_to(args.out).as_posix()}")


if __name__ == "__main__":
    main()
