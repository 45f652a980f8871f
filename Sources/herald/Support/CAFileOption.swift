import ArgumentParser
import HeraldCommandLine

/// `--ca-file`: the certificate authorities that a command trusts for `https://`, `tls://`
/// and `wss://` servers, instead of the system's.
struct CAFileOption: ParsableArguments {
    @Option(name: .customLong("ca-file"), help: "PEM certificates to trust for https://, tls:// and wss:// servers [HERALD_CA_FILE, default the system's].")
    var caFile: String?

    /// The file given, if any.
    var path: String? {
        self.caFile ?? Environment.string("HERALD_CA_FILE")
    }
}
