import FirnCore
import FirnTasks
import Foundation

/// The config file's `tasks:` list.
extension FirnSettings {
    /// The built-in tasks (overridden where the file names them) followed by the user's tasks.
    static func tasks(_ entries: [ConfigFile.Task], source: String) throws(ConfigurationError) -> [TaskDefinition] {
        var tasks: [TaskDefinition] = [.load, .retention]
        for (index, entry) in entries.enumerated() {
            let prefix = "\(source): task \(entry.name)"
            let path = "tasks.\(index)"
            var builtIn = tasks.firstIndex { $0.name == entry.name }.map { tasks[$0] }
            var task: TaskDefinition
            if var existing = builtIn {
                if entry.sql != nil {
                    throw .invalid("\(prefix) is built in and runs no SQL; name your task otherwise")
                }
                if let days = entry.days {
                    guard case .retention = existing.action else {
                        throw .invalid("\(prefix): days applies to the retention task only")
                    }
                    existing.action = .retention(
                        days: try bounded(NumericBounds.retentionDays, days, "\(path).days", source)
                    )
                }
                task = existing
            } else {
                guard let sql = entry.sql else { throw .invalid("\(prefix) needs sql (or use a built-in name)") }
                guard entry.days == nil else { throw .invalid("\(prefix): days applies to the retention task only") }
                task = TaskDefinition(name: entry.name, trigger: .onData, action: .sql(sql))
                builtIn = nil
            }
            let triggers = [entry.schedule != nil, entry.onData == true, entry.after != nil].filter { $0 }.count
            guard triggers <= 1 else { throw .invalid("\(prefix): give one of schedule, on_data or after") }
            if let text = entry.schedule {
                do {
                    task.trigger = .schedule(try Schedule(parsing: text))
                } catch {
                    throw .invalid("\(prefix): \(error)")
                }
            } else if entry.onData == true {
                task.trigger = .onData
            } else if let after = entry.after {
                task.trigger = .after(after)
            } else if builtIn == nil {
                throw .invalid("\(prefix) needs a schedule, on_data: true or after: [task]")
            }
            if let when = entry.when {
                guard let condition = TaskDefinition.Condition(rawValue: when.lowercased()) else {
                    throw .invalid(
                        "\(prefix): when is new_loads, stream_has_data or always, not \(when.debugDescription)"
                    )
                }
                task.condition = condition
            } else if task.trigger == .onData, case .sql = task.action {
                task.condition = .newLoads
            }
            if let entity = entry.entity {
                guard case .sql = task.action else {
                    throw .invalid("\(prefix): entity applies to SQL tasks (load and retention serve every entity)")
                }
                task.entity = entity
            }
            if let retries = entry.retries {
                task.retries = try bounded(NumericBounds.taskRetries, retries, "\(path).retries", source)
            }
            if let failures = entry.suspendAfterFailures {
                task.suspendAfterFailures = try bounded(
                    NumericBounds.suspendAfterFailures,
                    failures,
                    "\(path).suspend_after_failures",
                    source
                )
            }
            if let index = tasks.firstIndex(where: { $0.name == entry.name }), builtIn != nil {
                tasks[index] = task
            } else {
                tasks.append(task)
            }
        }
        do {
            try TaskDefinition.validate(tasks)
        } catch {
            throw .invalid("\(source): \(error)")
        }
        return tasks
    }
}
