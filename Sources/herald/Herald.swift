import ArgumentParser

/// The `herald` command: every role of the push system in one binary.
@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: a long-connection push system.",
        subcommands: [
            Serve.self,
            Apps.self,
            Token.self,
            Push.self,
            Broadcast.self,
            Listen.self,
            Bench.self,
        ]
    )
}
