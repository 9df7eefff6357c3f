"""Built-in vocabularies for the company generator: names, places, industries, a chart of accounts.

Plain data, no logic. Every name here is made up or a common word; nothing comes from a real
customer list. The chart of accounts uses QBO's standard `AccountType` / `AccountSubType`
values (the enumerations of the v3 Account entity).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE_CHART",
    "CITIES",
    "COMPANY_SUFFIXES",
    "COMPANY_WORDS",
    "CUSTOMER_KINDS",
    "CUSTOMER_MEMOS",
    "EXTRA_CHART_LARGE",
    "EXTRA_CHART_MEDIUM",
    "FAMILY_NAMES",
    "GIVEN_NAMES",
    "INDUSTRIES",
    "ITEM_MODIFIERS",
    "JOB_WORDS",
    "MAIL_DOMAINS",
    "MIDDLE_INITIALS",
    "STREET_NAMES",
    "STREET_SUFFIXES",
    "TZ_NAMES",
    "VENDOR_KINDS",
    "ChartRow",
    "Industry",
]

GIVEN_NAMES: Final = (
    "Aaron", "Abigail", "Adam", "Adrian", "Aisha", "Alan", "Alberto", "Alice", "Alicia", "Amanda",
    "Amy", "Ana", "Andre", "Andrea", "Angela", "Anita", "Ann", "Anthony", "Arjun", "Ashley",
    "Barbara", "Ben", "Bianca", "Bill", "Brandon", "Brenda", "Brian", "Bruce", "Caleb", "Carla",
    "Carlos", "Carmen", "Carol", "Catherine", "Chen", "Chris", "Christina", "Cindy", "Claire",
    "Colin", "Connor", "Craig", "Cynthia", "Dale", "Dan", "Dana", "Daniel", "Darius", "David",
    "Deborah", "Denise", "Derek", "Diana", "Diego", "Dolores", "Donna", "Dylan", "Eddie", "Edith",
    "Eduardo", "Elena", "Eli", "Elizabeth", "Ellen", "Emily", "Emma", "Eric", "Erin", "Esther",
    "Ethan", "Eva", "Faith", "Farah", "Felix", "Fiona", "Frank", "Gabriel", "Gail", "Gary",
    "George", "Gina", "Grace", "Greg", "Hannah", "Harold", "Hector", "Helen", "Henry", "Hiro",
    "Ian", "Irene", "Isaac", "Ivan", "Jack", "Jacob", "Jamal", "James", "Jane", "Janet", "Jason",
    "Javier", "Jeff", "Jennifer", "Jerome", "Jessica", "Jill", "Joan", "Joel", "John", "Jordan",
    "Jose", "Joseph", "Joyce", "Juan", "Judy", "Julia", "Julie", "Karen", "Kate", "Keith", "Kelly",
    "Ken", "Kevin", "Kim", "Kyle", "Laura", "Lauren", "Lee", "Leo", "Leon", "Liam", "Lily", "Linda",
    "Lisa", "Logan", "Lorenzo", "Louis", "Lucia", "Luis", "Luke", "Lydia", "Maria", "Marcus",
    "Mark", "Martha", "Martin", "Mary", "Matt", "Maya", "Megan", "Mei", "Melissa", "Michael",
    "Michelle", "Miguel", "Mike", "Mina", "Monica", "Nadia", "Nancy", "Naomi", "Nathan", "Neil",
    "Nicole", "Nina", "Noah", "Nora", "Olivia", "Omar", "Oscar", "Owen", "Pam", "Patricia", "Paul",
    "Paula", "Pedro", "Peter", "Philip", "Priya", "Rachel", "Rafael", "Rahul", "Ramon", "Raj",
    "Ray", "Rebecca", "Ricardo", "Rita", "Rob", "Robin", "Rosa", "Ruth", "Ryan", "Sam", "Samir",
    "Sandra", "Sara", "Sasha", "Scott", "Sean", "Shara", "Sharon", "Simon", "Sofia", "Sonia",
    "Stacy", "Stephen", "Steve", "Sue", "Susan", "Tanya", "Teresa", "Thomas", "Tim", "Tina",
    "Todd", "Tom", "Tony", "Tracy", "Travis", "Trevor", "Uma", "Valerie", "Vanessa", "Victor",
    "Vincent", "Walter", "Wanda", "Wayne", "Wendy", "Will", "Xavier", "Yasmin", "Yolanda", "Yusuf",
    "Zach", "Zoe",
)  # fmt: skip

FAMILY_NAMES: Final = (
    "Abbott", "Acosta", "Adams", "Aguilar", "Ahmed", "Alvarez", "Anderson", "Andrews", "Arnold",
    "Bailey", "Baker", "Banks", "Barnes", "Barnett", "Bates", "Bell", "Bennett", "Berry", "Bishop",
    "Black", "Blake", "Boyd", "Bradley", "Brooks", "Brown", "Bryant", "Burke", "Burns", "Butler",
    "Byrne", "Caldwell", "Campbell", "Carpenter", "Carroll", "Carter", "Castillo", "Chan", "Chang",
    "Chavez", "Chen", "Clark", "Coleman", "Collins", "Cook", "Cooper", "Cortez", "Cox", "Crawford",
    "Cruz", "Cunningham", "Daniels", "Davidson", "Davis", "Dawson", "Delgado", "Diaz", "Dixon",
    "Doyle", "Duncan", "Dunn", "Edwards", "Elliott", "Ellis", "Evans", "Farrell", "Ferguson",
    "Fernandez", "Fields", "Fischer", "Fisher", "Fleming", "Flores", "Ford", "Foster", "Fox",
    "Franklin", "Freeman", "Fuller", "Garcia", "Gardner", "Garrett", "Gibson", "Gilbert", "Gomez",
    "Gonzalez", "Gordon", "Graham", "Grant", "Gray", "Green", "Gregory", "Griffin", "Gupta",
    "Gutierrez", "Hall", "Hamilton", "Hansen", "Harper", "Harris", "Hart", "Hayes", "Henderson",
    "Hernandez", "Hicks", "Hill", "Hoffman", "Holland", "Holmes", "Howard", "Hudson", "Hughes",
    "Hunt", "Iyer", "Jackson", "Jacobs", "James", "Jenkins", "Jensen", "Johnson", "Jones", "Jordan",
    "Kaur", "Keller", "Kelly", "Kennedy", "Khan", "Kim", "King", "Klein", "Knight", "Kowalski",
    "Kumar", "Lambert", "Lane", "Larson", "Lawrence", "Lee", "Lewis", "Lin", "Little", "Long",
    "Lopez", "Lucas", "Lynch", "Marshall", "Martin", "Martinez", "Mason", "Matthews", "Mendoza",
    "Meyer", "Miller", "Mills", "Mitchell", "Moore", "Morales", "Moreno", "Morgan", "Morris",
    "Murphy", "Murray", "Myers", "Nakamura", "Nelson", "Nguyen", "Nichols", "Novak", "Oliver",
    "Olson", "Ortiz", "Owens", "Palmer", "Park", "Parker", "Patel", "Patterson", "Payne", "Pearson",
    "Perez", "Perry", "Peters", "Phillips", "Pierce", "Porter", "Powell", "Price", "Quinn",
    "Ramirez", "Ramos", "Reed", "Reyes", "Reynolds", "Rice", "Richards", "Rivera", "Roberts",
    "Robinson", "Rodriguez", "Rogers", "Romero", "Rose", "Ross", "Russell", "Ryan", "Sanchez",
    "Sanders", "Santos", "Schmidt", "Schneider", "Scott", "Shah", "Shaw", "Silva", "Simmons",
    "Singh", "Smith", "Snyder", "Spencer", "Stanley", "Stephens", "Stevens", "Stewart", "Stone",
    "Sullivan", "Sutton", "Suzuki", "Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Tran",
    "Tucker", "Turner", "Vargas", "Vasquez", "Wagner", "Walker", "Wallace", "Walsh", "Ward",
    "Warren", "Watson", "Weaver", "Webb", "Wells", "West", "Wheeler", "White", "Williams", "Wilson",
    "Wong", "Wood", "Woods", "Wright", "Yamamoto", "Young", "Zhang", "Zimmerman",
)  # fmt: skip

MIDDLE_INITIALS: Final = tuple(f"{c}." for c in "ABCDEFGHJKLMNPRSTW")

# First words of business names: places, landscape words, colours, qualities.
COMPANY_WORDS: Final = (
    "Acorn", "Alpine", "Amber", "Anchor", "Apex", "Arbor", "Aspen", "Atlas", "Aurora", "Bay",
    "Beacon", "Bear Creek", "Birch", "Blue Sky", "Bluebird", "Bold", "Boulder", "Bright", "Bristol",
    "Brookside", "Canyon", "Capital", "Cardinal", "Cascade", "Cedar", "Central", "Century",
    "Champion", "Citrus", "Clear Lake", "Coastal", "Cobalt", "Compass", "Copper", "Coral",
    "Cornerstone", "Cottonwood", "Crescent", "Crystal", "Cypress", "Delta", "Desert Rose",
    "Diamond", "Eagle", "East Bay", "Echo", "Elm Street", "Emerald", "Empire", "Evergreen",
    "Fairway", "Falcon", "First Light", "Five Star", "Flagstone", "Foothill", "Fox Run", "Frontier",
    "Garden State", "Gateway", "Golden Gate", "Granite", "Great Lakes", "Green Valley", "Greystone",
    "Harbor", "Harvest", "Hawthorne", "Heritage", "Hidden Oak", "Highland", "Hillcrest", "Horizon",
    "Ironwood", "Island", "Ivy", "Jade", "Juniper", "Keystone", "Lakeside", "Landmark", "Laurel",
    "Liberty", "Lighthouse", "Lincoln", "Linden", "Lone Pine", "Magnolia", "Main Street", "Maple",
    "Mariner", "Meadowbrook", "Mesa", "Metro", "Midtown", "Mission", "Monarch", "Mountain View",
    "North Star", "Northern", "Oak Ridge", "Ocean", "Old Town", "Olive", "Orchard", "Pacific",
    "Palmetto", "Paragon", "Park Avenue", "Peak", "Pelican", "Pine Hill", "Pinnacle", "Pioneer",
    "Prairie", "Premier", "Prime", "Quail Hollow", "Quarry", "Rainier", "Red Rock", "Redwood",
    "Ridgeline", "River Bend", "Riverside", "Rocky Point", "Rose City", "Sage", "Salt Creek",
    "Sandstone", "Sapphire", "Seaside", "Sequoia", "Sierra", "Silver Lake", "Skyline", "Solstice",
    "Southern", "Spring Hill", "Spruce", "Stonebridge", "Summit", "Sunrise", "Sunset", "Sycamore",
    "Tall Pines", "Timber", "Trailhead", "Tri-County", "True North", "Twin Oaks", "Union",
    "Upland", "Valley", "Vanguard", "Victory", "Vista", "Walnut", "Westwind", "Whitewater",
    "Wildflower", "Willow", "Windmill", "Woodland", "Zenith",
)  # fmt: skip

COMPANY_SUFFIXES: Final = (
    "", "", "", "", "LLC", "LLC", "Inc.", "Inc.", "Co.", "Group", "& Sons", "Partners", "Ltd.",
)  # fmt: skip

# Kinds of customer businesses (a customer name is a word, a kind and maybe a suffix).
CUSTOMER_KINDS: Final = (
    "Animal Hospital", "Apartments", "Architects", "Auto Repair", "Bakery", "Bistro", "Books",
    "Builders", "Cafe", "Catering", "Chiropractic", "Church", "Cleaners", "Clinic", "Coffee",
    "Construction", "Consulting", "Dental", "Design Studio", "Diner", "Electric", "Engineering",
    "Family Practice", "Fitness", "Florist", "Foods", "Furniture", "Gallery", "Garage", "Grill",
    "Hardware", "Holdings", "Home Builders", "Hotel", "Insurance", "Interiors", "Law Group",
    "Learning Center", "Lodge", "Market", "Marketing", "Medical Supplies", "Montessori", "Motors",
    "Nursery", "Optometry", "Outfitters", "Pet Supply", "Pharmacy", "Photography",
    "Physical Therapy", "Pizza", "Plumbing", "Printing", "Properties", "Realty", "Restaurant",
    "Roofing", "Salon",
    "School", "Sporting Goods", "Storage", "Surf Shop", "Tavern", "Tire & Auto", "Veterinary",
    "Winery", "Yoga",
)  # fmt: skip

# Kinds of vendors: (kind, typical expense-account role or "" for any).
VENDOR_KINDS: Final = (
    ("Supply", "supplies"), ("Wholesale", "materials"), ("Distributors", "materials"),
    ("Lumber", "materials"), ("Building Materials", "materials"), ("Equipment Rental", "rental"),
    ("Office Supply", "office"), ("Telephone", "telephone"), ("Power & Light", "utilities"),
    ("Water District", "utilities"), ("Gas Company", "utilities"),
    ("Insurance Agency", "insurance"),
    ("Properties", "rent"), ("Realty Management", "rent"), ("Accounting", "professional"),
    ("Law Office", "professional"), ("Bookkeeping", "professional"), ("Fuel", "auto"),
    ("Auto Service", "auto"), ("Tire Center", "auto"), ("Printing", "advertising"),
    ("Media", "advertising"), ("Signs", "advertising"), ("Freight", "shipping"),
    ("Courier", "shipping"), ("Uniforms", "supplies"), ("Janitorial", "repairs"),
    ("Repair Services", "repairs"), ("IT Services", "software"), ("Software", "software"),
    ("Waste Services", "disposal"), ("Hauling", "disposal"), ("Nursery Supply", "materials"),
    ("Hardware", "supplies"), ("Catering", "meals"), ("Travel", "travel"),
)  # fmt: skip

JOB_WORDS: Final = (
    "Remodel", "Expansion", "Renovation", "Maintenance Contract", "Phase 2", "New Office",
    "Warehouse", "Annex", "Showroom", "Kitchen", "Patio", "Landscape Project", "Retrofit",
)  # fmt: skip

STREET_NAMES: Final = (
    "Alder", "Ash", "Bay", "Beach", "Birch", "Bridge", "Broad", "Canyon", "Cedar", "Center",
    "Cherry", "Church", "Cliff", "College", "Court", "Creek", "Crest", "Dogwood", "Easy", "Elm",
    "Finch", "Forest", "Franklin", "Garden", "Glen", "Grand", "Hickory", "High", "Highland", "Hill",
    "Holly", "Jackson", "Jefferson", "Lake", "Laurel", "Lincoln", "Madison", "Main", "Maple",
    "Market", "Meadow", "Mill", "Mission", "Mountain View", "Oak", "Ocean View", "Orchard", "Park",
    "Pine", "Pleasant", "Poplar", "Prospect", "Railroad", "Ridge", "River", "Rose", "Sierra",
    "Spring", "Spruce", "State", "Summit", "Sunset", "Twin", "Valley", "Vine", "Walnut",
    "Washington", "Water", "Willow", "Wilson",
)  # fmt: skip

STREET_SUFFIXES: Final = (
    "St.", "St.", "Ave.", "Ave.", "Rd.", "Blvd.", "Dr.", "Ln.", "Way", "Ct.", "Pl.", "Pkwy",
)  # fmt: skip

# (city, state, ZIP prefix of 3 digits, latitude, longitude, area code, UTC offset in winter)
CITIES: Final = (
    ("Bayshore", "CA", "943", 37.5407, -122.3126, "650", "-08:00"),
    ("Middlefield", "CA", "943", 37.4419, -122.1430, "650", "-08:00"),
    ("San Pablo", "CA", "948", 37.9621, -122.3455, "510", "-08:00"),
    ("Sacramento", "CA", "958", 38.5816, -121.4944, "916", "-08:00"),
    ("Fresno", "CA", "937", 36.7378, -119.7871, "559", "-08:00"),
    ("San Diego", "CA", "921", 32.7157, -117.1611, "619", "-08:00"),
    ("Santa Rosa", "CA", "954", 38.4404, -122.7141, "707", "-08:00"),
    ("Portland", "OR", "972", 45.5152, -122.6784, "503", "-08:00"),
    ("Eugene", "OR", "974", 44.0521, -123.0868, "541", "-08:00"),
    ("Seattle", "WA", "981", 47.6062, -122.3321, "206", "-08:00"),
    ("Tacoma", "WA", "984", 47.2529, -122.4443, "253", "-08:00"),
    ("Spokane", "WA", "992", 47.6588, -117.4260, "509", "-08:00"),
    ("Reno", "NV", "895", 39.5296, -119.8138, "775", "-08:00"),
    ("Las Vegas", "NV", "891", 36.1699, -115.1398, "702", "-08:00"),
    ("Tucson", "AZ", "857", 32.2226, -110.9747, "520", "-07:00"),
    ("Phoenix", "AZ", "850", 33.4484, -112.0740, "602", "-07:00"),
    ("Flagstaff", "AZ", "860", 35.1983, -111.6513, "928", "-07:00"),
    ("Denver", "CO", "802", 39.7392, -104.9903, "303", "-07:00"),
    ("Boulder", "CO", "803", 40.0150, -105.2705, "303", "-07:00"),
    ("Salt Lake City", "UT", "841", 40.7608, -111.8910, "801", "-07:00"),
    ("Boise", "ID", "837", 43.6150, -116.2023, "208", "-07:00"),
    ("Albuquerque", "NM", "871", 35.0844, -106.6504, "505", "-07:00"),
    ("Austin", "TX", "787", 30.2672, -97.7431, "512", "-06:00"),
    ("Dallas", "TX", "752", 32.7767, -96.7970, "214", "-06:00"),
    ("Houston", "TX", "770", 29.7604, -95.3698, "713", "-06:00"),
    ("Chicago", "IL", "606", 41.8781, -87.6298, "312", "-06:00"),
    ("Madison", "WI", "537", 43.0731, -89.4012, "608", "-06:00"),
    ("Minneapolis", "MN", "554", 44.9778, -93.2650, "612", "-06:00"),
    ("Kansas City", "MO", "641", 39.0997, -94.5786, "816", "-06:00"),
    ("Nashville", "TN", "372", 36.1627, -86.7816, "615", "-06:00"),
    ("New Orleans", "LA", "701", 29.9511, -90.0715, "504", "-06:00"),
    ("Omaha", "NE", "681", 41.2565, -95.9345, "402", "-06:00"),
    ("Atlanta", "GA", "303", 33.7490, -84.3880, "404", "-05:00"),
    ("Charlotte", "NC", "282", 35.2271, -80.8431, "704", "-05:00"),
    ("Raleigh", "NC", "276", 35.7796, -78.6382, "919", "-05:00"),
    ("Orlando", "FL", "328", 28.5383, -81.3792, "407", "-05:00"),
    ("Tampa", "FL", "336", 27.9506, -82.4572, "813", "-05:00"),
    ("Columbus", "OH", "432", 39.9612, -82.9988, "614", "-05:00"),
    ("Pittsburgh", "PA", "152", 40.4406, -79.9959, "412", "-05:00"),
    ("Philadelphia", "PA", "191", 39.9526, -75.1652, "215", "-05:00"),
    ("South Orange", "NJ", "070", 40.7490, -74.2613, "973", "-05:00"),
    ("Brooklyn", "NY", "112", 40.6782, -73.9442, "718", "-05:00"),
    ("Albany", "NY", "122", 42.6526, -73.7562, "518", "-05:00"),
    ("Boston", "MA", "021", 42.3601, -71.0589, "617", "-05:00"),
    ("Hartford", "CT", "061", 41.7658, -72.6734, "860", "-05:00"),
    ("Burlington", "VT", "054", 44.4759, -73.2121, "802", "-05:00"),
    ("Anchorage", "AK", "995", 61.2181, -149.9003, "907", "-09:00"),
    ("Honolulu", "HI", "968", 21.3069, -157.8583, "808", "-10:00"),
)  # fmt: skip

# IANA zone for CompanyInfo.DefaultTimeZone, by the winter UTC offset of the company's city
# (Arizona keeps standard time all year: "America/Phoenix").
TZ_NAMES: Final = {
    "-10:00": "Pacific/Honolulu",
    "-09:00": "America/Anchorage",
    "-08:00": "America/Los_Angeles",
    "-07:00": "America/Denver",
    "-06:00": "America/Chicago",
    "-05:00": "America/New_York",
}

MAIL_DOMAINS: Final = (
    "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "comcast.net",
)  # fmt: skip

CUSTOMER_MEMOS: Final = (
    "Thank you for your business and have a great day!",
    "Thank you for your business.",
    "We appreciate your prompt payment.",
    "Please make checks payable to the company name above.",
    "Questions about this invoice? Reply to this email.",
)

ITEM_MODIFIERS: Final = (
    "Standard", "Premium", "Deluxe", "Basic", "Small", "Medium", "Large", "Extra Large", "Pro",
    "Compact", "Heavy Duty", "Economy", "Classic", "Custom", "Express",
)  # fmt: skip


class Industry:
    """An industry profile: what the company sells and what its CompanyInfo says."""

    __slots__ = ("code", "label", "products", "services", "words")

    def __init__(
        self,
        label: str,
        code: str,
        words: tuple[str, ...],
        services: tuple[tuple[str, str, int, int], ...],
        products: tuple[tuple[str, str, int, int], ...],
    ) -> None:
        self.label = label
        self.code = code
        self.words = words
        # (name, description, low price in cents, high price in cents)
        self.services = services
        self.products = products


INDUSTRIES: Final = (
    Industry(
        "Landscaping services",
        "561730",
        ("Landscaping", "Lawn & Garden", "Landscape Design", "Gardens"),
        (
            ("Design", "Custom Design", 5000, 12500),
            ("Installation", "Installation of landscape design", 4000, 9000),
            ("Gardening", "Weekly Gardening Service", 2500, 6000),
            ("Lawn Care", "Lawn mowing and edging", 2500, 5000),
            ("Pest Control", "Pest Control Services", 3500, 9000),
            ("Trimming", "Tree and shrub trimming", 3500, 8000),
            ("Irrigation Repair", "Sprinkler and drip repair", 4500, 9500),
            ("Hauling", "Green waste hauling", 6000, 15000),
            ("Consultation", "On-site consultation", 7500, 15000),
        ),
        (
            ("Rock Fountain", "Rock Fountain", 15000, 45000),
            ("Rocks", "Garden Rocks", 1200, 4000),
            ("Sprinkler Heads", "Sprinkler Heads", 200, 900),
            ("Sprinkler Pipes", "Sprinkler Pipes", 300, 1200),
            ("Pump", "Fountain Pump", 8000, 20000),
            ("Soil", "2 cubic ft. bag", 800, 2000),
            ("Mulch", "Bark mulch, per yard", 2500, 6000),
            ("Pavers", "Concrete pavers", 300, 1200),
            ("Planter Box", "Cedar planter box", 4000, 12000),
            ("Shrubs", "Assorted shrubs, 5 gal.", 1500, 4500),
        ),
    ),
    Industry(
        "IT consulting",
        "541512",
        ("Technology", "IT Solutions", "Systems", "Networks", "Digital"),
        (
            ("Consulting", "IT consulting, hourly", 9500, 22500),
            ("Network Setup", "Network installation and configuration", 12000, 30000),
            ("Managed Services", "Monthly managed services", 50000, 250000),
            ("Help Desk", "Help desk support, hourly", 6000, 12000),
            ("Security Audit", "Security assessment", 150000, 600000),
            ("Cloud Migration", "Cloud migration services", 12000, 25000),
            ("Training", "Staff training session", 40000, 150000),
            ("Web Development", "Web development, hourly", 8500, 17500),
        ),
        (
            ("Laptop", "Business laptop", 80000, 220000),
            ("Monitor", "27 in. monitor", 18000, 45000),
            ("Router", "Business router", 15000, 60000),
            ("Switch", "24-port network switch", 20000, 90000),
            ("Cable Kit", "Cat6 cable kit", 2500, 8000),
            ("Docking Station", "USB-C docking station", 12000, 30000),
            ("Software License", "Annual software license", 9900, 59900),
            ("Backup Drive", "External backup drive", 8000, 25000),
        ),
    ),
    Industry(
        "Bakery and cafe",
        "311811",
        ("Bakery", "Bakehouse", "Pastries", "Kitchen", "Cafe"),
        (
            ("Catering", "Event catering, per guest", 1800, 4500),
            ("Cake Design", "Custom cake design", 5000, 20000),
            ("Delivery", "Local delivery", 1500, 4500),
            ("Baking Class", "Baking class, per seat", 4500, 9500),
            ("Event Setup", "Event setup and service", 15000, 40000),
        ),
        (
            ("Sourdough Loaf", "Sourdough loaf", 600, 1200),
            ("Croissant Box", "Box of 12 croissants", 2400, 4800),
            ("Wedding Cake", "Three-tier wedding cake", 35000, 120000),
            ("Cookie Tray", "Assorted cookie tray", 3000, 7500),
            ("Coffee Beans", "House blend, 2 lb.", 2200, 4000),
            ("Muffin Dozen", "Dozen muffins", 2400, 4200),
            ("Pie", "Seasonal fruit pie", 1800, 3500),
            ("Gift Basket", "Bakery gift basket", 4500, 12000),
        ),
    ),
    Industry(
        "Construction contractor",
        "236118",
        ("Builders", "Construction", "Contracting", "Renovation", "Homes"),
        (
            ("Labor", "Construction labor, hourly", 5500, 9500),
            ("Project Management", "Project management, hourly", 8500, 15000),
            ("Demolition", "Demolition and removal", 80000, 400000),
            ("Framing", "Framing labor", 60000, 300000),
            ("Electrical", "Electrical work, hourly", 8000, 14000),
            ("Plumbing", "Plumbing work, hourly", 8000, 14000),
            ("Inspection", "Site inspection", 15000, 45000),
            ("Permit Fees", "Permit processing", 25000, 150000),
        ),
        (
            ("Lumber", "Framing lumber, per board", 500, 2500),
            ("Drywall", "Drywall sheet", 1200, 2500),
            ("Tile", "Ceramic tile, per sq. ft.", 300, 1500),
            ("Cabinets", "Kitchen cabinet set", 250000, 900000),
            ("Fixtures", "Bathroom fixture set", 30000, 120000),
            ("Paint", "Interior paint, gallon", 3000, 7000),
            ("Windows", "Double-pane window", 25000, 90000),
            ("Doors", "Solid core door", 15000, 60000),
            ("Hardware Kit", "Door hardware kit", 2500, 9000),
        ),
    ),
)

# A chart-of-accounts row: (role, name, AccountType, AccountSubType, parent name or "").
# `role` names the accounts the generator posts to on purpose ("" when none); roles shared by
# several rows ("expense:utilities") make a pool to choose from.
ChartRow = tuple[str, str, str, str, str]

BASE_CHART: Final[tuple[ChartRow, ...]] = (
    ("bank:checking", "Checking", "Bank", "Checking", ""),
    ("bank:savings", "Savings", "Bank", "Savings", ""),
    ("ar", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", ""),
    ("uf", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", ""),
    ("inventory", "Inventory Asset", "Other Current Asset", "Inventory", ""),
    ("", "Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", ""),
    ("", "Uncategorized Asset", "Other Current Asset", "OtherCurrentAssets", ""),
    ("", "Truck", "Fixed Asset", "Vehicles", ""),
    ("fixed:cost", "Original Cost", "Fixed Asset", "Vehicles", "Truck"),
    ("fixed:depreciation", "Depreciation", "Fixed Asset", "AccumulatedDepreciation", "Truck"),
    ("ap", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", ""),
    ("cc", "Mastercard", "Credit Card", "CreditCard", ""),
    ("", "Board of Equalization Payable", "Other Current Liability", "SalesTaxPayable", ""),
    ("", "Loan Payable", "Other Current Liability", "OtherCurrentLiabilities", ""),
    ("loan", "Notes Payable", "Long Term Liability", "NotesPayable", ""),
    ("equity:opening", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", ""),
    ("", "Retained Earnings", "Equity", "RetainedEarnings", ""),
    ("equity:investment", "Owner's Investment", "Equity", "OwnersEquity", ""),
    ("equity:draw", "Owner's Pay & Personal Expenses", "Equity", "PersonalExpense", ""),
    ("income:services", "Services", "Income", "ServiceFeeIncome", ""),
    ("income:products", "Sales of Product Income", "Income", "SalesOfProductIncome", ""),
    ("", "Discounts given", "Income", "DiscountsRefundsGiven", ""),
    ("", "Unapplied Cash Payment Income", "Income", "UnappliedCashPaymentIncome", ""),
    ("income:other", "Interest Earned", "Other Income", "InterestEarned", ""),
    ("cogs", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", ""),
    ("expense:advertising", "Advertising", "Expense", "AdvertisingPromotional", ""),
    ("expense:auto", "Automobile", "Expense", "Auto", ""),
    ("expense:auto", "Fuel", "Expense", "Auto", "Automobile"),
    ("expense:bank", "Bank Charges", "Expense", "BankCharges", ""),
    ("expense:dues", "Dues & Subscriptions", "Expense", "DuesSubscriptions", ""),
    ("expense:rental", "Equipment Rental", "Expense", "EquipmentRental", ""),
    ("expense:insurance", "Insurance", "Expense", "Insurance", ""),
    ("expense:interest", "Interest Expense", "Expense", "InterestPaid", ""),
    ("expense:professional", "Legal & Professional Fees", "Expense", "LegalProfessionalFees", ""),
    ("expense:meals", "Meals and Entertainment", "Expense", "EntertainmentMeals", ""),
    ("expense:office", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", ""),
    ("expense:payroll", "Payroll Expenses", "Expense", "PayrollExpenses", ""),
    ("expense:rent", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", ""),
    ("expense:repairs", "Repair & Maintenance", "Expense", "RepairMaintenance", ""),
    ("expense:supplies", "Supplies", "Expense", "SuppliesMaterials", ""),
    ("expense:taxes", "Taxes & Licenses", "Expense", "TaxesPaid", ""),
    ("expense:travel", "Travel", "Expense", "Travel", ""),
    ("expense:utilities", "Utilities", "Expense", "Utilities", ""),
    ("expense:depreciation", "Depreciation Expense", "Other Expense", "Depreciation", ""),
    ("", "Penalties & Settlements", "Other Expense", "PenaltiesSettlements", ""),
)

EXTRA_CHART_MEDIUM: Final[tuple[ChartRow, ...]] = (
    ("cc", "Visa", "Credit Card", "CreditCard", ""),
    ("", "Security Deposits", "Other Asset", "SecurityDeposits", ""),
    ("", "Furniture and Equipment", "Fixed Asset", "FurnitureAndFixtures", ""),
    ("income:services", "Consulting Income", "Income", "ServiceFeeIncome", ""),
    ("income:services", "Billable Expense Income", "Income", "OtherPrimaryIncome", ""),
    ("income:other", "Other Miscellaneous Income", "Other Income", "OtherMiscellaneousIncome", ""),
    ("cogs", "Freight In", "Cost of Goods Sold", "ShippingFreightDeliveryCos", ""),
    ("expense:professional", "Accounting", "Expense", "LegalProfessionalFees",
     "Legal & Professional Fees"),
    ("expense:professional", "Lawyer", "Expense", "LegalProfessionalFees",
     "Legal & Professional Fees"),
    ("expense:utilities", "Gas and Electric", "Expense", "Utilities", "Utilities"),
    ("expense:telephone", "Telephone", "Expense", "Utilities", "Utilities"),
    ("expense:shipping", "Shipping and Delivery", "Expense", "ShippingFreightDelivery", ""),
    ("expense:software", "Software & Apps", "Expense", "OfficeGeneralAdministrativeExpenses", ""),
    ("expense:disposal", "Disposal Fees", "Expense", "OtherMiscellaneousServiceCost", ""),
    ("expense:materials", "Job Materials", "Expense", "SuppliesMaterials", ""),
)  # fmt: skip

EXTRA_CHART_LARGE: Final[tuple[ChartRow, ...]] = (
    ("bank:checking", "Payroll Checking", "Bank", "Checking", ""),
    ("bank:savings", "Money Market", "Bank", "MoneyMarket", ""),
    ("cc", "American Express", "Credit Card", "CreditCard", ""),
    ("", "Line of Credit", "Other Current Liability", "LineOfCredit", ""),
    ("", "Payroll Liabilities", "Other Current Liability", "PayrollTaxPayable", ""),
    ("", "Machinery and Equipment", "Fixed Asset", "MachineryAndEquipment", ""),
    ("income:products", "Wholesale Sales", "Income", "SalesOfProductIncome", ""),
    ("income:services", "Maintenance Contracts", "Income", "ServiceFeeIncome", ""),
    ("", "Refunds-Allowances", "Income", "DiscountsRefundsGiven", ""),
    ("cogs", "Subcontractors", "Cost of Goods Sold", "CostOfLaborCos", ""),
    ("cogs", "Equipment Rental for Jobs", "Cost of Goods Sold", "EquipmentRentalCos", ""),
    ("expense:auto", "Vehicle Repairs", "Expense", "Auto", "Automobile"),
    ("expense:insurance", "Workers Compensation", "Expense", "Insurance", "Insurance"),
    ("expense:insurance", "Liability Insurance", "Expense", "Insurance", "Insurance"),
    ("expense:professional", "Bookkeeper", "Expense", "LegalProfessionalFees",
     "Legal & Professional Fees"),
    ("expense:meals", "Travel Meals", "Expense", "TravelMeals", ""),
    ("expense:office", "Stationery & Printing", "Expense", "OfficeGeneralAdministrativeExpenses",
     ""),
    ("expense:office", "Postage", "Expense", "OfficeGeneralAdministrativeExpenses", ""),
    ("expense:advertising", "Promotional", "Expense", "AdvertisingPromotional", ""),
    ("expense:advertising", "Online Ads", "Expense", "AdvertisingPromotional", ""),
    ("expense:supplies", "Small Tools and Equipment", "Expense", "SuppliesMaterials", ""),
    ("expense:supplies", "Uniforms", "Expense", "SuppliesMaterials", ""),
    ("expense:repairs", "Building Repairs", "Expense", "RepairMaintenance", ""),
    ("expense:repairs", "Computer Repairs", "Expense", "RepairMaintenance", ""),
    ("expense:dues", "Professional Memberships", "Expense", "DuesSubscriptions", ""),
    ("expense:taxes", "Business Licenses", "Expense", "TaxesPaid", ""),
    ("expense:travel", "Airfare", "Expense", "Travel", "Travel"),
    ("expense:travel", "Lodging", "Expense", "Travel", "Travel"),
    ("expense:charity", "Charitable Contributions", "Expense", "CharitableContributions", ""),
    ("", "Amortization", "Other Expense", "Amortization", ""),
)  # fmt: skip
