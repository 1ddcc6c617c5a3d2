"""The words sample data is made of: occupation families (titles, skills, companies, duties, degrees,
salaries), places, names and seniority levels."""

from __future__ import annotations

from dataclasses import dataclass

CITIES = [
    "Berlin",
    "Munich",
    "Hamburg",
    "London",
    "Manchester",
    "Amsterdam",
    "Paris",
    "Madrid",
    "New York",
    "Chicago",
    "Austin",
    "Seattle",
    "Toronto",
    "Dublin",
    "Warsaw",
]

FIRST_NAMES = (
    "Anna Ben Carla David Elif Farid Grace Hugo Ines Jonas Kemi Lars Maya Noah Olga Pablo Quinn Rosa "
    "Sven Tara Umar Vera Wei Xenia Yusuf Zoe Amir Bianca Chen Dmitri Emma Femi Giulia Hana Ivan Julia Kofi "
    "Lena Marco Nadia Omar Priya Rahul Sara Tomas Uma Victor Wanda Yara"
).split()
LAST_NAMES = (
    "Schmidt Okafor Garcia Novak Rossi Kim Nguyen Müller Patel Smith Johansson Dubois Kowalski Silva Ahmed "
    "Brown Fischer Costa Yilmaz Tanaka Larsen Moreau Hughes Becker Ivanova Mensah Romero Weber Haddad Walsh"
).split()

SENIORITY_PREFIX = {
    "intern": "Intern",
    "junior": "Junior",
    "mid": "",
    "senior": "Senior",
    "lead": "Lead",
    "executive": "Head of",
}
SENIORITY_WEIGHTS = {"intern": 3, "junior": 18, "mid": 38, "senior": 28, "lead": 10, "executive": 3}
SENIORITY_YEARS = {
    "intern": (0, 1),
    "junior": (1, 3),
    "mid": (3, 6),
    "senior": (6, 12),
    "lead": (8, 15),
    "executive": (12, 25),
}
SENIORITY_ORDER = list(SENIORITY_PREFIX)


@dataclass(frozen=True)
class Family:
    """An occupation family: what its jobs and resumes are made of."""

    name: str
    titles: tuple[str, ...]
    skills: tuple[str, ...]
    companies: tuple[str, ...]
    duties: tuple[str, ...]
    degrees: tuple[str, ...]
    salary: tuple[int, int]  # mid-level yearly range
    remote_share: float = 0.0
    part_time_share: float = 0.0
    head_title: str = ""  # what "Head of" prefixes for executives


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "software",
            (
                "Backend Engineer",
                "Frontend Developer",
                "Full Stack Developer",
                "Mobile Developer",
                "DevOps Engineer",
                "Site Reliability Engineer",
                "Software Engineer",
            ),
            (
                "Python",
                "Django",
                "Go",
                "Java",
                "TypeScript",
                "React",
                "Node.js",
                "PostgreSQL",
                "Docker",
                "Kubernetes",
                "AWS",
                "Terraform",
                "CI/CD",
                "REST APIs",
                "GraphQL",
                "Redis",
                "Linux",
                "Git",
                "Microservices",
                "Kotlin",
            ),
            (
                "Northwind Software",
                "Bitforge",
                "CloudNine Labs",
                "Initech",
                "Pixelworks GmbH",
                "Stackline Inc",
            ),
            (
                "Design and build REST APIs used by millions of requests a day",
                "Own services end to end, from design to on-call",
                "Migrate legacy services to containers on Kubernetes",
                "Improve test coverage and CI pipelines",
                "Review code and mentor other engineers",
                "Cut page load times by optimising the frontend bundle",
                "Automate infrastructure with Terraform",
            ),
            ("BSc Computer Science", "MSc Software Engineering", "BEng Computer Engineering"),
            (60000, 95000),
            remote_share=0.45,
            head_title="Engineering",
        ),
        Family(
            "data",
            (
                "Data Scientist",
                "Data Engineer",
                "Data Analyst",
                "Machine Learning Engineer",
                "Analytics Engineer",
                "BI Developer",
            ),
            (
                "Python",
                "SQL",
                "pandas",
                "scikit-learn",
                "PyTorch",
                "Spark",
                "Airflow",
                "dbt",
                "Tableau",
                "Power BI",
                "Statistics",
                "A/B testing",
                "Machine learning",
                "BigQuery",
                "Snowflake",
                "Kafka",
                "R",
                "Looker",
            ),
            ("Quantify Analytics", "DataHarbor", "Insightly Labs", "Metricon", "Globex Data"),
            (
                "Build batch and streaming data pipelines",
                "Train and deploy machine learning models for ranking and forecasting",
                "Design dashboards for product and finance teams",
                "Run A/B tests and explain the results to stakeholders",
                "Model the data warehouse with dbt",
                "Clean and document core datasets",
            ),
            ("MSc Statistics", "BSc Mathematics", "MSc Data Science", "PhD Physics"),
            (58000, 98000),
            remote_share=0.35,
            head_title="Data",
        ),
        Family(
            "nursing",
            (
                "Registered Nurse",
                "ICU Nurse",
                "Pediatric Nurse",
                "Emergency Room Nurse",
                "Nurse Practitioner",
                "Charge Nurse",
            ),
            (
                "Patient assessment",
                "Medication administration",
                "Epic EHR",
                "BLS",
                "ACLS",
                "Wound care",
                "Triage",
                "IV therapy",
                "Patient education",
                "Infection control",
                "Ventilator management",
                "Care planning",
                "Telemetry",
                "PALS",
            ),
            (
                "St. Mary's Hospital",
                "City General Hospital",
                "Riverside Medical Center",
                "Sunrise Clinic",
                "Mercy Health",
            ),
            (
                "Assess and monitor patients and escalate changes in condition",
                "Administer medications and IV therapy safely",
                "Coordinate care plans with physicians and therapists",
                "Educate patients and families before discharge",
                "Precept newly qualified nurses",
                "Keep accurate records in the EHR",
            ),
            ("BSN Nursing", "MSN Nursing", "Associate Degree in Nursing"),
            (48000, 72000),
            part_time_share=0.2,
            head_title="Nursing",
        ),
        Family(
            "retail",
            (
                "Store Manager",
                "Sales Associate",
                "Cashier",
                "Visual Merchandiser",
                "Assistant Store Manager",
                "Retail Supervisor",
            ),
            (
                "Customer service",
                "Cash handling",
                "POS systems",
                "Visual merchandising",
                "Inventory management",
                "Upselling",
                "Loss prevention",
                "Scheduling",
                "Team leadership",
                "Stock replenishment",
                "Store operations",
                "Sales targets",
            ),
            ("FreshMart", "Nova Retail", "Urban Outfitters Co", "Bright Home Stores", "MegaMart"),
            (
                "Serve customers on the shop floor and at the till",
                "Hit weekly sales targets and upsell accessories",
                "Replenish stock and run inventory counts",
                "Set up seasonal displays",
                "Schedule shifts for a team of associates",
                "Handle returns and complaints",
            ),
            ("High School Diploma", "BA Business Administration", "Diploma in Retail Management"),
            (26000, 42000),
            part_time_share=0.4,
            head_title="Retail Operations",
        ),
        Family(
            "logistics",
            (
                "Warehouse Associate",
                "Logistics Coordinator",
                "Delivery Driver",
                "Supply Chain Analyst",
                "Warehouse Supervisor",
                "Forklift Operator",
                "Dispatcher",
            ),
            (
                "Forklift certified",
                "WMS",
                "Inventory control",
                "Route planning",
                "SAP",
                "Shipping and receiving",
                "Supply chain",
                "Excel",
                "Health and safety",
                "Pick and pack",
                "Fleet management",
                "Demand planning",
                "Lean",
            ),
            (
                "Midwest Logistics Inc",
                "FastFreight LLC",
                "Harbor Distribution",
                "Parcelline",
                "Cargo Connect",
            ),
            (
                "Pick, pack and ship orders accurately",
                "Plan delivery routes and dispatch drivers",
                "Run cycle counts and reconcile inventory in the WMS",
                "Coordinate inbound freight with carriers",
                "Enforce health and safety procedures on the warehouse floor",
                "Analyse lead times and stock levels",
            ),
            ("High School Diploma", "BSc Supply Chain Management", "Diploma in Logistics"),
            (30000, 52000),
            part_time_share=0.15,
            head_title="Logistics",
        ),
        Family(
            "finance",
            (
                "Financial Analyst",
                "Accountant",
                "Controller",
                "Auditor",
                "FP&A Analyst",
                "Accounts Payable Clerk",
            ),
            (
                "Financial modelling",
                "Excel",
                "IFRS",
                "GAAP",
                "Forecasting",
                "Budgeting",
                "SAP",
                "Reconciliation",
                "Accounts payable",
                "Audit",
                "Tax",
                "Power BI",
                "Variance analysis",
                "Month-end close",
            ),
            ("Contoso Ltd", "Sterling Partners", "Ledgerline", "Atlas Bank", "Crown Holdings"),
            (
                "Prepare the monthly close and management accounts",
                "Build forecast and budget models",
                "Reconcile ledgers and investigate variances",
                "Support external auditors",
                "Process invoices and supplier payments",
                "Report KPIs to the leadership team",
            ),
            ("BA Accounting", "BSc Finance", "MBA", "BA Economics"),
            (50000, 80000),
            remote_share=0.15,
            head_title="Finance",
        ),
        Family(
            "marketing",
            (
                "Marketing Manager",
                "Content Marketer",
                "SEO Specialist",
                "Social Media Manager",
                "Growth Marketer",
                "Brand Manager",
            ),
            (
                "SEO",
                "Google Analytics",
                "Content strategy",
                "Copywriting",
                "HubSpot",
                "Paid social",
                "Google Ads",
                "Email marketing",
                "Brand strategy",
                "Marketing automation",
                "A/B testing",
                "Social media",
                "CRM",
                "Market research",
            ),
            ("Brightwave Media", "Spark Agency", "Loud Lantern", "Northstar Brands", "Pixel & Pine"),
            (
                "Plan and run multi-channel campaigns",
                "Grow organic traffic through SEO and content",
                "Manage the paid social budget and report on ROI",
                "Write copy for landing pages and newsletters",
                "Run market research and customer interviews",
                "Own the brand guidelines",
            ),
            ("BA Marketing", "BA Communications", "MBA"),
            (45000, 75000),
            remote_share=0.3,
            head_title="Marketing",
        ),
        Family(
            "hospitality",
            (
                "Chef de Partie",
                "Line Cook",
                "Restaurant Manager",
                "Barista",
                "Front Desk Agent",
                "Housekeeping Supervisor",
            ),
            (
                "Food safety",
                "Menu planning",
                "Customer service",
                "Cash handling",
                "Inventory management",
                "Team leadership",
                "Reservations systems",
                "Food preparation",
                "Coffee preparation",
                "Hospitality",
                "Cleaning standards",
                "Scheduling",
            ),
            ("Bean There", "The Grand Hotel", "Harbor Bistro", "Olive & Thyme", "Sunset Resorts"),
            (
                "Prepare dishes to standard during busy services",
                "Welcome guests and manage reservations",
                "Train new staff on service standards",
                "Order stock and control food costs",
                "Keep the kitchen compliant with food safety rules",
                "Resolve guest complaints",
            ),
            ("Diploma in Culinary Arts", "BA Hospitality Management", "High School Diploma"),
            (25000, 40000),
            part_time_share=0.35,
            head_title="Hospitality",
        ),
    ]
}
FAMILY_NAMES = tuple(FAMILIES)
UNIVERSITIES = (
    "University of Manchester",
    "TU Berlin",
    "University of Amsterdam",
    "University of Texas at Austin",
    "King's College London",
    "University of Warsaw",
    "Trinity College Dublin",
    "University of Toronto",
    "Sorbonne University",
    "Community College of Chicago",
    "City College",
    "Hamburg School of Business",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
