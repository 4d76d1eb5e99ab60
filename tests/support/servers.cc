#include "tests/support/servers.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace thb::testing {

ServerProcess::ServerProcess(std::string binary, std::string dir,
                             std::string name, std::vector<std::string> args,
                             bool with_db)
    : binary_(std::move(binary)),
      dir_(std::move(dir)),
      name_(std::move(name)),
      args_(std::move(args)),
      with_db_(with_db) {}

absl::Status ServerProcess::Start() {
  if (process_ != nullptr) process_->Kill();
  const std::string port_file =
      absl::StrCat(dir_, "/", name_, ".port-", ++starts_);
  std::vector<std::string> args = {
      "--port=0", absl::StrCat("--port_file=", port_file), "--drain=0s"};
  if (with_db_)
    args.push_back(absl::StrCat("--db=", dir_, "/", name_, ".sqlite3"));
  args.insert(args.end(), args_.begin(), args_.end());
  auto process = Process::Start(binary_, args);
  if (!process.ok()) return process.status();
  process_ = std::make_unique<Process>(std::move(*process));
  auto port = WaitForPortFile(port_file, *process_, absl::Seconds(30));
  if (!port.ok()) return port.status();
  port_ = *port;
  address_ = absl::StrCat("127.0.0.1:", port_);
  return absl::OkStatus();
}

}  // namespace thb::testing
