/// The vocabularies synthetic customers are drawn from: realistic-looking, fixed, and large
/// enough that most keys differ (an update always picks a different word).
///
/// Shipped in the package (no network, no external data). The generator's and the benchmark's
/// output for a seed depend on every list's order and length: changing a list changes every
/// workload and generated file, so do it only on purpose.
public enum WordLists {
    /// Given names, including unicode ones (`Zoë`, `Łukasz`).
    public static let firstNames: [String] = [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
        "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
        "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
        "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
        "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah",
        "Ronald", "Stephanie", "Edward", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
        "Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
        "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
        "Zoë", "José", "Łukasz", "Siobhán", "Björn", "Chloé", "Mateo", "Aiko", "Priya", "Olumide",
    ]

    /// Family names, including `O'Brien`, multi-word `Van der Berg` and unicode (`Müller`).
    public static let lastNames: [String] = [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
        "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
        "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
        "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
        "O'Brien", "O'Neil", "McCarthy", "Van der Berg", "Müller", "Schröder", "Kowalski", "Novák", "Tanaka",
        "Okafor",
    ]

    /// Email domains (reserved example and test names, so no address is real).
    public static let emailDomains: [String] = [
        "example.com", "mail.example.org", "inbox.test", "post.example.net", "webmail.test", "corp.example.com",
    ]

    /// Street names; a street is `<number> <name> <suffix>`.
    public static let streetNames: [String] = [
        "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Walnut", "Sunset",
        "Lincoln", "Jackson", "Church", "River", "Highland", "Willow", "Meadow", "Forest", "Ridge", "Spring",
        "Chestnut", "Franklin", "Adams", "Jefferson", "Mill", "Valley", "Birch", "Dogwood", "Madison", "Center",
    ]

    /// Street suffixes (`St`, `Ave`, …).
    public static let streetSuffixes: [String] = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Terrace"]

    /// City names, some of two words.
    public static let cities: [String] = [
        "Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton", "Fairview", "Salem", "Madison",
        "Georgetown", "Arlington", "Ashland", "Burlington", "Manchester", "Milton", "Newport", "Oxford", "Dover",
        "Lakewood", "Hudson", "Kingston", "Marion", "Jackson", "Auburn", "Dayton", "Lexington", "Milford", "Winchester",
        "Clayton", "Chester", "Mount Vernon", "Lebanon", "Portland", "Richmond", "Cleveland", "Union",
    ]

    /// US state codes.
    public static let states: [String] = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
        "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
        "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    ]

    /// Country names, including `"Korea, Republic of"` (a comma, so CSV must quote it).
    public static let countries: [String] = [
        "United States", "Canada", "United Kingdom", "Ireland", "Germany", "France", "Spain", "Portugal", "Italy",
        "Netherlands", "Belgium", "Poland", "Czechia", "Sweden", "Norway", "Denmark", "Finland", "Japan",
        "Australia", "New Zealand", "Brazil", "Mexico", "India", "Nigeria", "South Africa", "Korea, Republic of",
    ]
}
