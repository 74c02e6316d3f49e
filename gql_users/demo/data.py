"""The rows of the demo dataset, computed without a database.

Every row is a pure function of its index (or, for roles, of its user, role and scope): its uuid
is a uuid5 of that key and its attributes come from a random generator seeded by the same key.
That is what makes seeding idempotent (``gql_users.demo.seed``): a second run computes the
same uuids and finds them present.

The name lists are small and deliberately international; the accented names exercise the
ASCII-folded name search.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gql_users.db.folding import fold_ascii

DEMO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gql-users.invalid/demo")
DEMO_PASSWORD = "gql-demo-password"
DEMO_STAFF_USERNAME = "demo.staff"
DEMO_OWNER_USERNAME = "demo.owner"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Anna Maria Elena Sofia Laura Julia Emma Olivia Mia Lea Sara Eva Katrin Kadri Liis Mari "
    "Zoë Chloé Anaïs Hélène Åsa Björk Małgorzata Zuzana Mária Ágnes Dóra Iñes Begoña Inês "
    "John Peter Michael David Thomas Martin Andreas Jan Mark Tõnu Jüri Märt Andrus Priit "
    "François Jérôme Jürgen Sören Søren Håkon Łukasz Paweł Tomáš Jiří Matías José Ramón "
    "João Nuño Ümit Çağlar Zoltán Ákos Mei Wei Hiro Kenji Aarav Priya Amara Kwame"
)
LAST_NAMES = _words(
    "Tamm Saar Sepp Mägi Kask Kukk Rebane Ilves Pärn Koppel Jürimäe Õunapuu Müller Schäfer "
    "Groß Weiß Becker Fischer Wagner Dubois Lefèvre Girard Moreau Gonçalves Pereira García "
    "Martínez Muñoz Núñez Rossi Bianchi Ricci Esposito Nowak Wiśniewski Wójcik Kowalczyk "
    "Dvořák Novák Svoboda Černý Kovács Szabó Horváth Tóth Nagy Øverland Ångström Lindqvist "
    "Johansson Nieminen Virtanen Mäkelä Smith Jones Brown Taylor Wilson O'Brien Murphy "
    "Nakamura Tanaka Chen Wang Okafor Mensah Yılmaz Öztürk Ivanova Petrov"
)
CITIES = _words(
    "Tartu Helsinki Uppsala Leiden Delft Bologna Coimbra Kraków Brno Debrecen Graz Aarhus "
    "Tallinn Riga Vilnius Ghent Porto Lyon Zürich Bergen"
)
ORGANISATION_KINDS = (
    "University", "Research Centre", "Bioinformatics Lab", "Climate Institute",
    "Observatory", "Genome Centre", "Computing Centre", "Robotics Lab",
)  # fmt: skip
PROJECT_TOPICS = (
    "Protein folding", "Glacier melt", "Urban mobility", "Soil microbiome", "Quantum chemistry",
    "Language models", "Baltic herring", "Exoplanet survey", "Neural imaging", "Wind farms",
    "Crop genomics", "Air quality", "Seismic risk", "Coral reefs", "Battery materials",
    "Folk music archive", "Migration routes", "Dark matter", "Vaccine design", "Forest carbon",
)  # fmt: skip
JOB_TITLES = (
    "Researcher", "Senior Researcher", "PhD Student", "Postdoc", "Professor",
    "Research Engineer", "Data Scientist", "System Administrator", "Lab Manager", "",
)  # fmt: skip
LANGUAGES = ("en", "en", "en", "et", "de", "fr", "fi", "pl", "es", "")
# Reserved names (RFC 2606): demo mail can never reach a real mailbox.
EMAIL_DOMAINS = ("uni.example", "research.example", "lab.example", "institute.example")


@dataclass(frozen=True, slots=True)
class DemoSize:
    users: int = 200
    customers: int = 10
    projects: int = 30


def demo_uuid(key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, key)


# Letters that NFKD does not decompose into an ASCII base letter plus marks, so that ASCII folding
# alone would drop them ("Łukasz" -> "ukasz"). Keys are lower case: names are lowered first.
TRANSLITERATIONS = str.maketrans(
    {"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "đ": "d", "ð": "d", "þ": "th", "œ": "oe", "ı": "i"}
)


def username_part(name: str) -> str:
    """``"O'Brien"`` -> ``"obrien"``, ``"Łukasz"`` -> ``"lukasz"``: fits the username regex."""
    return "".join(c for c in fold_ascii(name.lower().translate(TRANSLITERATIONS)) if c.isalnum())


BIRTH_DATES_FROM = date(1950, 1, 1)


def demo_user_row(index: int, now: datetime) -> dict[str, Any]:
    """Demo user ``index``: about 3% inactive, 1% support, 0.5% staff, 1% identity managers."""
    rng = random.Random(f"user:{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    username = f"{username_part(first)}.{username_part(last)}{index}"
    joined = now - timedelta(days=rng.randint(0, 3 * 365), seconds=rng.randint(0, 86399))
    method = rng.choices(("default", "eduteams", "saml2"), weights=(80, 15, 5))[0]
    roll = rng.random()
    phone = f"+372 5{rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return {
        "uuid": demo_uuid(f"user:{index}"),
        "username": username,
        "email": f"{username}@{rng.choice(EMAIL_DOMAINS)}",
        "first_name": first,
        "last_name": last,
        "native_name": f"{first} {last}" if not (first + last).isascii() else "",
        "organization": f"{rng.choice(CITIES)} {rng.choice(ORGANISATION_KINDS)}",
        "job_title": rng.choice(JOB_TITLES),
        "phone_number": phone if rng.random() < 0.6 else "",
        "preferred_language": rng.choice(LANGUAGES),
        "registration_method": method,
        "affiliations": [f"member@{rng.choice(EMAIL_DOMAINS)}"] if method == "eduteams" else [],
        "is_active": roll >= 0.03,
        "is_support": 0.03 <= roll < 0.04,
        "is_staff": 0.04 <= roll < 0.045,
        "is_identity_manager": 0.045 <= roll < 0.055,
        "notifications_enabled": rng.random() < 0.9,
        "date_joined": joined,
        "modified": joined,
        "agreement_date": joined if rng.random() < 0.85 else None,
        "last_login": now - timedelta(days=rng.randint(0, 90)) if rng.random() < 0.5 else None,
        # drawn last, so that every other value is the one it was before birth dates existed
        "birth_date": BIRTH_DATES_FROM + timedelta(days=rng.randint(0, 55 * 365))
        if rng.random() < 0.7
        else None,
    }


def demo_account_row(username: str, now: datetime, **flags: Any) -> dict[str, Any]:
    """One of the two demo logins (``demo.staff``, ``demo.owner``)."""
    return {
        "uuid": demo_uuid(f"account:{username}"),
        "username": username,
        "email": f"{username}@demo.example",
        "first_name": "Demo",
        "last_name": username.partition(".")[2].capitalize(),
        "organization": "gql-users demo",
        "date_joined": now,
        "modified": now,
        "agreement_date": now,
        **flags,
    }


def demo_customer_row(index: int, now: datetime) -> dict[str, Any]:
    city = CITIES[index % len(CITIES)]
    kind = ORGANISATION_KINDS[index // len(CITIES) % len(ORGANISATION_KINDS)]
    rounds = index // (len(CITIES) * len(ORGANISATION_KINDS))
    return {
        "uuid": demo_uuid(f"customer:{index}"),
        "name": f"{city} {kind}" + (f" {rounds + 1}" if rounds else ""),
        "abbreviation": f"{fold_ascii(city)[:3].upper()}{index}"[:12],
        "created": now - timedelta(days=1000 - index % 1000),
    }


def demo_project_row(index: int, customer_id: int, now: datetime) -> dict[str, Any]:
    topic = PROJECT_TOPICS[index % len(PROJECT_TOPICS)]
    return {
        "uuid": demo_uuid(f"project:{index}"),
        "name": f"{topic} {index // len(PROJECT_TOPICS) + 1}",
        "customer_id": customer_id,
        "created": now - timedelta(days=900 - index % 900),
    }


def plan_roles(
    size: DemoSize,
    user_ids: dict[uuid.UUID, int],
    scope_ids: dict[uuid.UUID, int],
    role_ids: dict[str, int],
    now: datetime,
) -> list[dict[str, Any]]:
    """The ``user_roles`` rows: owners, managers and support per customer; an admin, maybe a
    manager, and members per project.

    Customer roles are created by the demo staff user, project roles by an owner of the
    project's customer. About one role in ten expires (in the future) and one in twenty is
    inactive; the demo owner owns the first customer, always actively.

    Args:
        size: the dataset's size; customer ``c`` holds projects ``c``, ``c + customers``, ...
        user_ids, scope_ids: database ids by demo uuid, for users and for customers and
            projects. A demo user missing from ``user_ids`` (its username was taken by a
            non-demo user) gets no role.
        role_ids: database ids by role name.
        now: the reference time.
    """
    staff_id = user_ids.get(demo_uuid(f"account:{DEMO_STAFF_USERNAME}"))
    owner_account = demo_uuid(f"account:{DEMO_OWNER_USERNAME}")
    pool = [u for u in (demo_uuid(f"user:{i}") for i in range(size.users)) if u in user_ids]
    planned: dict[uuid.UUID, dict[str, Any]] = {}

    def plan(user: uuid.UUID, role: str, scope: str, creator: int | None, rng: random.Random):
        key = demo_uuid(f"role:{user}:{role}:{scope}")
        roll = rng.random()
        planned.setdefault(key, {
            "uuid": key,
            "user_id": user_ids[user],
            "role_id": role_ids[role],
            "customer_id": scope_ids[demo_uuid(scope)] if scope.startswith("customer") else None,
            "project_id": scope_ids[demo_uuid(scope)] if scope.startswith("project") else None,
            "created_by_id": creator,
            "created": now - timedelta(days=rng.randint(0, 700)),
            "expiration_time": now + timedelta(days=rng.randint(30, 365)) if roll < 0.1 else None,
            "is_active": roll < 0.95 or user == owner_account,
        })  # fmt: skip

    owners: dict[int, list[int]] = {}
    for c in range(size.customers):
        rng = random.Random(f"customer-roles:{c}")
        chosen = rng.sample(pool, min(len(pool), rng.randint(1, 2)))
        if c == 0 and owner_account in user_ids:
            chosen.insert(0, owner_account)
        owners[c] = [user_ids[user] for user in chosen]
        for user in chosen:
            plan(user, "CUSTOMER.OWNER", f"customer:{c}", staff_id, rng)
        for role in ("CUSTOMER.MANAGER", "CUSTOMER.SUPPORT"):
            if pool and rng.random() < 0.6:
                plan(rng.choice(pool), role, f"customer:{c}", staff_id, rng)
    for p in range(size.projects):
        rng = random.Random(f"project-roles:{p}")
        creator = rng.choice(owners[p % size.customers] or [staff_id])
        for position, user in enumerate(rng.sample(pool, min(len(pool), rng.randint(3, 10)))):
            role = "PROJECT.MEMBER"
            if position == 0:
                role = "PROJECT.ADMIN"
            elif position == 1 and rng.random() < 0.5:
                role = "PROJECT.MANAGER"
            plan(user, role, f"project:{p}", creator, rng)
    return list(planned.values())
