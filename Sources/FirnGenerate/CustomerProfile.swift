import FirnCore

/// One synthetic customer's attribute values, kept compactly as indexes into ``WordLists``.
///
/// A profile is about 24 bytes, so a generator can remember every customer it ever created.
/// ``attributes`` spells it out in the order of ``EntityConfiguration/customer``'s attribute
/// columns: `first_name, last_name, email, street, city, state, country`.
///
/// Drawing is deterministic: the same ``SplitMix64`` state gives the same profile and the same
/// changes on every machine. The order of the draws is part of the contract (the benchmark's
/// workloads and `firn generate`'s files depend on it), so it must not change.
public struct CustomerProfile: Sendable, Hashable {
    /// The number of attributes a change can pick from (all seven columns).
    public static let fieldCount = 7

    var first: UInt16
    var last: UInt16
    /// The names the email was made from (an email does not follow later name changes).
    var emailFirst: UInt16
    var emailLast: UInt16
    var emailNumber: UInt16
    var emailDomain: UInt8
    var state: UInt8
    var streetNumber: UInt16
    var street: UInt16
    /// 0 for none; otherwise the street gets `, Apt <unit>` (a comma, so CSV must quote it).
    var unit: UInt16
    var city: UInt16
    var country: UInt16

    /// A new customer with every value drawn from `random`.
    ///
    /// - Parameter random: The generator to draw from; it advances.
    /// - Returns: The profile.
    public static func random(using random: inout SplitMix64) -> CustomerProfile {
        let first = UInt16(random.below(WordLists.firstNames.count))
        let last = UInt16(random.below(WordLists.lastNames.count))
        return CustomerProfile(
            first: first,
            last: last,
            emailFirst: first,
            emailLast: last,
            emailNumber: UInt16(random.below(1000)),
            emailDomain: UInt8(random.below(WordLists.emailDomains.count)),
            state: UInt8(random.below(WordLists.states.count)),
            streetNumber: UInt16(1 + random.below(9999)),
            street: UInt16(random.below(WordLists.streetNames.count * WordLists.streetSuffixes.count)),
            unit: random.below(10) == 0 ? UInt16(1 + random.below(999)) : 0,
            city: UInt16(random.below(WordLists.cities.count)),
            country: UInt16(random.below(WordLists.countries.count))
        )
    }

    /// Changes 1 to 3 distinct attributes (uniformly chosen), each to a value different from
    /// its current one, so the result always differs from the profile before it.
    ///
    /// - Parameter random: The generator to draw from; it advances.
    /// - Returns: How many attributes were changed (1, 2 or 3).
    @discardableResult
    public mutating func changeFields(using random: inout SplitMix64) -> Int {
        changedFields(using: &random).nonzeroBitCount
    }

    /// Changes 1–3 attributes, as ``changeFields(using:)`` does (the same draws), and returns
    /// which: bit `i` set for attribute `i` (0 = first_name … 6 = country).
    public mutating func changedFields(using random: inout SplitMix64) -> UInt8 {
        // A partial Fisher-Yates shuffle of the field numbers, kept in a vector (no allocation).
        var fields = SIMD8<UInt8>(0, 1, 2, 3, 4, 5, 6, 7)
        let changes = 1 + random.below(3)
        var mask: UInt8 = 0
        for pick in 0..<changes {
            let other = pick + random.below(Self.fieldCount - pick)
            (fields[pick], fields[other]) = (fields[other], fields[pick])
            change(field: Int(fields[pick]), using: &random)
            mask |= 1 << fields[pick]
        }
        return mask
    }

    /// Gives `field` (0 = first_name … 6 = country) a value different from its current one.
    ///
    /// Changing the email (field 2) rebuilds it from the current names with a new number.
    mutating func change(field: Int, using random: inout SplitMix64) {
        func other<T: FixedWidthInteger>(_ value: T, _ count: Int) -> T {
            T((Int(value) + 1 + random.below(count - 1)) % count)
        }
        switch field {
        case 0: first = other(first, WordLists.firstNames.count)
        case 1: last = other(last, WordLists.lastNames.count)
        case 2:
            emailFirst = first
            emailLast = last
            emailNumber = other(emailNumber, 1000)
            emailDomain = UInt8(random.below(WordLists.emailDomains.count))
        case 3:
            streetNumber = UInt16(1 + Int(other(streetNumber - 1, 9999)))
            street = UInt16(random.below(WordLists.streetNames.count * WordLists.streetSuffixes.count))
            unit = random.below(10) == 0 ? UInt16(1 + random.below(999)) : 0
        case 4: city = other(city, WordLists.cities.count)
        case 5: state = other(state, WordLists.states.count)
        default: country = other(country, WordLists.countries.count)
        }
    }

    /// The attribute values: first_name, last_name, email, street, city, state, country.
    public var attributes: [String] {
        [
            WordLists.firstNames[Int(first)],
            WordLists.lastNames[Int(last)],
            email,
            streetText,
            WordLists.cities[Int(city)],
            WordLists.states[Int(state)],
            WordLists.countries[Int(country)],
        ]
    }

    /// `1234 Oak Ave` or `1234 Oak Ave, Apt 56`.
    var streetText: String {
        let streetName = WordLists.streetNames[Int(street) % WordLists.streetNames.count]
        let suffix = WordLists.streetSuffixes[Int(street) / WordLists.streetNames.count]
        var text = "\(streetNumber) \(streetName) \(suffix)"
        if unit > 0 { text += ", Apt \(unit)" }
        return text
    }

    /// `first.last123@domain`, the names lowercased and reduced to `a`–`z`.
    var email: String {
        let first = Self.emailLocalFirst[Int(emailFirst)]
        let last = Self.emailLocalLast[Int(emailLast)]
        return "\(first).\(last)\(emailNumber)@\(WordLists.emailDomains[Int(emailDomain)])"
    }

    private static func local(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) }.map(Character.init))
    }

    private static let emailLocalFirst = WordLists.firstNames.map(local)
    private static let emailLocalLast = WordLists.lastNames.map(local)
}
