import ArgumentParser
import Foundation

@main
struct RLHF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract:
            "Train your own chat model end to end: tokenizer, pretraining, SFT, reward model, PPO, DPO, GRPO.",
        version: "0.1.0",
        subcommands: [
            // One file per subcommand; keep this list in pipeline order.
            TokenizerCommand.self,
            NGramCommand.self,
            PretrainCommand.self,
            SFTCommand.self,
            RewardCommand.self,
            PPOCommand.self,
            DPOCommand.self,
            KTOCommand.self,
            GRPOCommand.self,
            GenerateCommand.self,
            ChatCommand.self,
            ServeCommand.self,
            FeedbackCommand.self,
            EvalCommand.self,
            MergeCommand.self,
            ExportCommand.self,
            DemoCommand.self,
        ]
    )

    static func main() async {
        if let problem = CPUCheck.problem() {
            FileHandle.standardError.write(Data((problem + "\n").utf8))
            Foundation.exit(1)
        }
        await main(nil)
    }
}
