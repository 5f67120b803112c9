"""Names for a simulated MSP: client profiles, time zones, sites, hostname stems, people.

Plain data. The first six profiles sit in six different time zones, one of them in the
southern hemisphere (Sydney) and one in New Zealand, so even a small simulated MSP spans
the DST rules of both hemispheres.
"""

from __future__ import annotations

from dataclasses import dataclass

# (IANA zone, site names): sites are towns in that zone.
ZONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("America/New_York", ("Boston", "Quincy", "Providence")),
    ("Australia/Sydney", ("Sydney CBD", "Parramatta", "Newcastle")),
    ("Europe/Berlin", ("Berlin-Mitte", "Potsdam", "Leipzig")),
    ("America/Chicago", ("Chicago", "Naperville", "Milwaukee")),
    ("Europe/London", ("London", "Reading", "Oxford")),
    ("Pacific/Auckland", ("Auckland", "Hamilton", "Tauranga")),
    ("America/Los_Angeles", ("San Jose", "Oakland", "Fresno")),
    ("America/Sao_Paulo", ("São Paulo", "Campinas")),
    ("America/Denver", ("Denver", "Boulder")),
    ("Australia/Adelaide", ("Adelaide", "Mount Gambier")),
    ("Europe/Dublin", ("Dublin", "Cork")),
    ("Africa/Johannesburg", ("Cape Town", "Stellenbosch")),
    ("America/Toronto", ("Toronto", "Mississauga")),
    ("America/Phoenix", ("Phoenix", "Tempe")),
    ("Asia/Singapore", ("Singapore",)),
    ("Europe/Oslo", ("Bergen", "Oslo")),
)


@dataclass(frozen=True)
class Profile:
    slug: str
    name: str
    kind: str  # a key of KINDS
    zone: int  # index into ZONES


PROFILES: tuple[Profile, ...] = (
    Profile("northwind-dental", "Northwind Dental Partners", "clinic", 0),
    Profile("bluegum-accounting", "Bluegum Accounting Pty Ltd", "office", 1),
    Profile("rheinwerk-ingenieure", "Rheinwerk Ingenieure GmbH", "engineering", 2),
    Profile("prairie-vet", "Prairie Veterinary Hospital", "clinic", 3),
    Profile("thames-whitlock", "Thames & Whitlock LLP", "law", 4),
    Profile("kauri-freight", "Kauri Freight & Logistics Ltd", "warehouse", 5),
    Profile("sierra-charter", "Sierra Foothills Charter School", "school", 6),
    Profile("ipanema-arquitetura", "Ipanema Arquitetura Ltda", "engineering", 7),
    Profile("mesa-verde-property", "Mesa Verde Property Management", "office", 8),
    Profile("torrens-physio", "Torrens Physio & Sports Clinic", "clinic", 9),
    Profile("liffey-media", "Liffey Media Ltd", "office", 10),
    Profile("cape-point-hotels", "Cape Point Hospitality Group", "hotel", 11),
    Profile("maple-leaf-cu", "Maple Leaf Credit Union", "bank", 12),
    Profile("sonoran-solar", "Sonoran Solar Installers", "warehouse", 13),
    Profile("lumen-diagnostics", "Lumen Diagnostics Pte Ltd", "lab", 14),
    Profile("fjordline-shipping", "Fjordline Shipping AS", "office", 15),
)

# Names for clients beyond the profiles: "{place} {trade}".
PLACES = (
    "Riverside", "Oakwood", "Summit", "Harbourside", "Cedar Creek", "Granite", "Willow",
    "Beacon", "Redwood", "Lakeshore", "Ironbark", "Silverleaf", "Kingsgate", "Meadowbrook",
    "Pinecrest", "Stonebridge", "Westfield", "Foxglove", "Bayview", "Highland",
)  # fmt: skip


@dataclass(frozen=True)
class ServerStem:
    stem: str
    linux: bool = False
    critical: bool = True
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """What kind of business a client is: its servers, shared machines and software."""

    trades: tuple[str, ...]
    servers: tuple[ServerStem, ...]
    shared: tuple[str, ...]
    shared_checks: tuple[str, ...]
    third_party: tuple[str, ...]
    excluded: str = ""  # a device stem kept out of scope, with the reason in the notes
    exclusion_note: str = ""


DC = ServerStem("DC", checks=("service:NTDS", "service:DNS", "service:Netlogon"))
FS = ServerStem("FS", checks=("service:LanmanServer", "share:data"))
SQL = ServerStem("SQL", checks=("service:MSSQLSERVER",))
RDS = ServerStem("RDS", checks=("service:TermService",))
BKP = ServerStem("BKP", critical=False, checks=("service:VeeamBackupSvc",))
PRN = ServerStem("PRN", critical=False, checks=("service:Spooler",))
BASE_APPS = ("Google Chrome", "Adobe Acrobat Reader", "7-Zip")

KINDS: dict[str, Kind] = {
    "clinic": Kind(
        ("Dental", "Family Practice", "Eye Care", "Physiotherapy"),
        (DC, FS, ServerStem("PMS", checks=("service:MSSQLSERVER", "http:practice-management")),
         BKP, ServerStem("IMG", checks=("service:ImagingBridge",))),
        ("FRONTDESK", "OPERATORY", "NURSE", "XRAY"),
        ("app:practice-management client",),
        (*BASE_APPS, "Zoom Workplace"),
        "XRAY",
        "The X-ray acquisition PCs are patched by the imaging vendor under its support contract.",
    ),
    "office": Kind(
        ("Accounting", "Insurance Brokers", "Realty", "Consulting"),
        (DC, FS, ServerStem("APP", checks=("http:intranet",)), RDS, PRN),
        ("RECEPTION", "CONF", "HOTDESK"),
        ("http:intranet",),
        (*BASE_APPS, "Microsoft Teams", "Zoom Workplace"),
    ),
    "engineering": Kind(
        ("Engineering", "Architects", "Surveyors"),
        (DC, FS, ServerStem("LIC", checks=("service:lmgrd",)),
         ServerStem("BUILD", linux=True, checks=("http:ci",)), SQL, BKP),
        ("CAD", "PLOTTER", "LAB"),
        ("service:FlexNet Licensing",),
        (*BASE_APPS, "Mozilla Firefox", "Notepad++"),
        "LIC",
        "The licence server runs the CAD suite's FlexLM; patched by hand after vendor sign-off.",
    ),
    "law": Kind(
        ("Legal", "Law Group", "Notaries"),
        (DC, FS, ServerStem("DMS", checks=("service:iManageWorkServer", "http:dms")), RDS, SQL),
        ("RECEPTION", "CONF", "PRINTROOM"),
        ("http:dms",),
        (*BASE_APPS, "Microsoft Teams"),
    ),
    "warehouse": Kind(
        ("Logistics", "Distribution", "Supply Co"),
        (DC, ServerStem("WMS", checks=("service:MSSQLSERVER", "http:wms")), FS, PRN),
        ("DOCK", "PACKING", "KIOSK", "DISPATCH"),
        ("http:wms",),
        BASE_APPS,
    ),
    "school": Kind(
        ("Academy", "Montessori", "College"),
        (DC, FS, ServerStem("WEB", linux=True, checks=("http:portal",)), PRN),
        ("LAB", "LIBRARY", "OFFICE", "STAFFROOM"),
        ("http:portal",),
        (*BASE_APPS, "Mozilla Firefox", "Zoom Workplace"),
    ),
    "hotel": Kind(
        ("Hotel", "Resort", "Lodge"),
        (DC, ServerStem("PMS", checks=("service:MSSQLSERVER", "http:reservations")),
         ServerStem("POS", checks=("service:POSService",)), FS),
        ("FRONTDESK", "KIOSK", "CONCIERGE", "BACKOFFICE"),
        ("http:reservations",),
        BASE_APPS,
    ),
    "bank": Kind(
        ("Credit Union", "Savings Bank"),
        (DC, ServerStem("CORE", checks=("service:CoreBanking", "http:core")), SQL, FS, RDS, BKP),
        ("TELLER", "KIOSK", "LOBBY"),
        ("app:teller client",),
        (*BASE_APPS, "Microsoft Teams"),
    ),
    "lab": Kind(
        ("Diagnostics", "Labs", "Pathology"),
        (DC, ServerStem("LIMS", checks=("service:MSSQLSERVER", "http:lims")), FS, BKP),
        ("BENCH", "ANALYZER", "RECEPTION"),
        ("app:LIMS client",),
        (*BASE_APPS, "Mozilla Firefox"),
        "ANALYZER",
        "Analyzer PCs are validated with their instruments; the instrument vendor patches them.",
    ),
}  # fmt: skip

KIND_ORDER = tuple(KINDS)

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Karen", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Priya", "Mark", "Sandra",
    "Olivia", "Noah", "Ava", "Liam", "Yuki", "Wei", "Fatima", "Omar", "Ingrid", "Lars", "Chloe",
    "Hana", "Mateus", "Aroha", "Tane", "Zanele", "Sipho", "Greta", "Hugo", "Emma", "Lucas", "Isla",
)  # fmt: skip

SURNAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ",
    "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR",
    "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ",
    "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT",
    "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN", "ADAMS", "NELSON", "BAKER", "HALL",
    "RIVERA", "CAMPBELL", "MITCHELL", "CARTER", "ROBERTS", "OKAFOR", "SCHULZ", "MULLER",
    "FISCHER", "WEBER", "BECKER", "HOFFMANN", "OCONNOR", "MURPHY", "KELLY", "BYRNE", "WALSH",
    "SILVA", "SANTOS", "OLIVEIRA", "SOUZA", "COSTA", "TANAKA", "SATO", "SUZUKI", "CHEN", "WANG",
    "LI", "ZHANG", "LIU", "PATEL", "SHAH", "KUMAR", "SINGH", "KHAN", "NAIDOO", "DLAMINI",
    "NKOSI", "TAMATEA", "NGATA", "PARATA", "HANSEN", "JOHANSEN", "LARSEN", "ANDERSEN", "NILSEN",
    "MCDONALD", "STEWART", "MORRIS", "ROGERS", "COOK", "MORGAN", "BELL", "MURRAY", "FRASER",
)  # fmt: skip
