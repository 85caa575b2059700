#include "cli/cli.h"

#include <functional>
#include <iomanip>
#include <map>
#include <ostream>
#include <set>

#include "cli/serve.h"
#include "doctor/command.h"
#include "install/command.h"
#include "platform/files.h"
#include "service/error_reply.h"
#include "service/service.h"
#include "util/errors.h"
#include "util/paths.h"

namespace stoflow::cli {

using nlohmann::json;

namespace {

const std::set<std::string> kValueOptions = {
    "--db",         "--status",      "--platform", "--limit",       "--port",    "--product",
    "--token-file", "--price-cents", "--title",    "--description", "--quantity"};
const std::set<std::string> kFlags = {"--json",    "--help",    "-h",
                                      "--no-open", "--version", "--allow-outside-photos"};

struct Args {
  std::optional<std::string> db;
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
  std::set<std::string> flags;

  bool flag(const std::string& name) const { return flags.contains(name); }
  std::optional<std::string> option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? std::nullopt : std::optional(it->second);
  }
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Args parse(const std::vector<std::string>& argv) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (kValueOptions.contains(word)) {
      if (i + 1 >= argv.size()) throw UsageError(word + " needs a value");
      args.options[word] = argv[++i];
    } else if (kFlags.contains(word)) {
      args.flags.insert(word);
    } else if (word.size() > 2 && word.rfind("--", 0) == 0) {
      throw UsageError("unknown option " + word);
    } else {
      args.words.push_back(word);
    }
  }
  args.db = args.option("--db");
  return args;
}

// A whole number as given (range checks are the service's, with its messages).
int64_t parse_integer(const std::string& text, const char* what) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) {
    throw UsageError(std::string(what) + " must be a whole number, not \"" + text + "\"");
  }
  return value;
}

int64_t parse_id(const std::string& text, const char* what) {
  int64_t value = 0;
  try {
    value = parse_integer(text, what);
  } catch (const UsageError&) {
    value = 0;  // said below, as "positive"
  }
  if (value <= 0) {
    throw UsageError(std::string(what) + " must be a positive whole number, not \"" + text + "\"");
  }
  return value;
}

std::string text_or_dash(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>().empty() ? "-" : value.get<std::string>();
  return value.dump();
}

std::string progress_of(const json& queue) {
  const json& p = queue["progress"];
  return std::to_string(p["done"].get<int64_t>()) + "/" + text_or_dash(p["total"]);
}

void print_queue_header(std::ostream& out) {
  out << std::left << std::setw(6) << "ID" << std::setw(9) << "PLATFORM" << std::setw(9)
      << "PRODUCT" << std::setw(12) << "STATUS" << std::setw(9) << "STEPS" << std::setw(18)
      << "CURRENT STEP"
      << "MESSAGE\n";
}

void print_queue_row(const json& q, std::ostream& out) {
  std::string message = q["paused_reason"].is_string() ? q["paused_reason"].get<std::string>()
                                                       : text_or_dash(q["error_message"]);
  out << std::left << std::setw(6) << q["id"].get<int64_t>() << std::setw(9)
      << q["platform"].get<std::string>() << std::setw(9) << text_or_dash(q["product_id"])
      << std::setw(12) << q["status"].get<std::string>() << std::setw(9) << progress_of(q)
      << std::setw(18) << text_or_dash(q["current_step"]) << message << "\n";
}

void print_queue_detail(const json& q, std::ostream& out) {
  out << "queue " << q["id"] << ": " << q["operation"].get<std::string>() << " of product "
      << text_or_dash(q["product_id"]) << " on " << q["platform"].get<std::string>() << "\n"
      << "  status:       " << q["status"].get<std::string>() << "\n"
      << "  progress:     " << progress_of(q) << " steps, current "
      << text_or_dash(q["current_step"]) << "\n";
  if (q["error_message"].is_string()) out << "  error:        " << q["error_message"] << "\n";
  if (q["paused_reason"].is_string()) out << "  paused:       " << q["paused_reason"] << "\n";
  out << "  accumulated:  " << q["accumulated_data"].dump() << "\n"
      << "  created:      " << q["created_at"].get<std::string>() << "\n"
      << "  tasks:\n";
  for (const auto& t : q["tasks"]) {
    out << "    #" << t["id"] << " " << std::left << std::setw(16) << t["step"].get<std::string>()
        << std::setw(11) << t["status"].get<std::string>() << t["http_method"].get<std::string>()
        << " " << t["path"].get<std::string>() << "  (retries " << t["retry_count"] << "/"
        << t["max_retries"] << ")";
    if (t["error_message"].is_string()) out << "  " << t["error_message"].get<std::string>();
    out << "\n";
  }
}

service::Caller cli_caller() {
  return {"cli", "cli"};
}

std::unique_ptr<service::Service> open_service(const Args& args) {
  auto path = resolve_db_path(args.db);
  auto service = std::make_unique<service::Service>(service::Config::from_environment(path));
  // What the CLI shows must not include steps "in flight" on a host that died.
  service->recover_dead_hosts("cli");
  return service;
}

// Pages through a list method (`after_id` cursor) and hands each row over as
// it is read, so a list of any length costs one page of memory.
constexpr int64_t kCliPage = 500;

// Lists page oldest first (after_id), except queues: newest first (before_id).
enum class Order { kOldestFirst, kNewestFirst };

void for_each_row(service::Service& service, const std::string& method, json params,
                  const std::function<void(const json&)>& row, Order order = Order::kOldestFirst,
                  int64_t max_rows = INT64_MAX) {
  const char* cursor = order == Order::kOldestFirst ? "after_id" : "before_id";
  if (order == Order::kOldestFirst) params[cursor] = 0;
  int64_t seen = 0;
  for (;;) {
    int64_t wanted = std::min(kCliPage, max_rows - seen);
    params["limit"] = wanted;
    json page = service.invoke(method, params, cli_caller());
    for (const auto& item : page) row(item);
    seen += static_cast<int64_t>(page.size());
    if (static_cast<int64_t>(page.size()) < wanted || seen >= max_rows) return;
    params[cursor] = page.back()["id"];
  }
}

// Writes a JSON array one element at a time, as `dump(2)` would lay it out.
class JsonArrayWriter {
 public:
  explicit JsonArrayWriter(std::ostream& out) : out_(out) {}
  void add(const json& item) {
    std::string text = item.dump(2);
    std::string indented;
    for (char c : text) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    out_ << (first_ ? "[\n  " : ",\n  ") << indented;
    first_ = false;
  }
  void finish() { out_ << (first_ ? "[]\n" : "\n]\n"); }

 private:
  std::ostream& out_;
  bool first_ = true;
};

int cmd_products(const Args& args, std::ostream& out) {
  if (args.words.size() < 2) {
    throw UsageError("products needs a subcommand: import, list, show or update");
  }
  const std::string& sub = args.words[1];
  if (args.flag("--allow-outside-photos") && sub != "import") {
    throw UsageError("--allow-outside-photos only applies to products import");
  }
  json changes = json::object();
  if (auto v = args.option("--price-cents")) {
    changes["price_cents"] = parse_integer(*v, "--price-cents");
  }
  if (auto v = args.option("--title")) changes["title"] = *v;
  if (auto v = args.option("--description")) changes["description"] = *v;
  if (auto v = args.option("--quantity")) changes["quantity"] = parse_integer(*v, "--quantity");
  if (!changes.empty() && sub != "update") {
    throw UsageError(
        "--price-cents, --title, --description and --quantity only apply to "
        "products update");
  }
  if (sub == "update") {
    if (args.words.size() != 3 || changes.empty()) {
      throw UsageError(
          "usage: products update ID [--price-cents N] [--title T] [--description D] "
          "[--quantity N] (at least one)");
    }
    int64_t id = parse_id(args.words[2], "ID");
    changes["product_id"] = id;
    auto service = open_service(args);
    json result = service->invoke("products.update", changes, cli_caller());
    if (args.flag("--json")) {
      out << result.dump(2) << "\n";
      return kOk;
    }
    const json& p = result["product"];
    out << "product " << id << " updated: \"" << p["title"].get<std::string>() << "\", "
        << p["price_cents"].get<int64_t>() << " cents " << p["currency"].get<std::string>()
        << ", quantity " << p["quantity"].get<int64_t>() << "\n";
    for (const auto& l : result["listings_out_of_date"]) {
      out << "listing " << l["listing_id"] << " on " << l["platform"].get<std::string>()
          << " is now out of date: `stoflow-host update " << l["platform"].get<std::string>() << " "
          << id << "` will send the change\n";
    }
    return kOk;
  }
  auto service = open_service(args);
  if (sub == "import") {
    if (args.words.size() != 3) {
      throw UsageError("usage: products import FILE.json [--allow-outside-photos]");
    }
    store::ImportOptions options;
    options.allow_outside_photos = args.flag("--allow-outside-photos");
    auto result =
        service->import_products_file_detailed(platform::from_utf8(args.words[2]), options);
    if (args.flag("--json")) {
      // The ids in the file's order, added or updated: the shape scripts already read.
      out << json(result.ids).dump() << "\n";
    } else {
      for (int64_t id : result.ids) out << id << "\n";
    }
    return kOk;
  }
  if (sub == "list") {
    if (args.flag("--json")) {
      JsonArrayWriter writer(out);
      for_each_row(*service, "products.list", json::object(),
                   [&](const json& p) { writer.add(p); });
      writer.finish();
      return kOk;
    }
    out << std::left << std::setw(6) << "ID" << std::setw(10) << "PRICE" << std::setw(8) << "PHOTOS"
        << "TITLE\n";
    for_each_row(*service, "products.list", json::object(), [&](const json& p) {
      int64_t cents = p["price_cents"];
      std::string price = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
                          std::to_string(cents % 100);
      out << std::left << std::setw(6) << p["id"].get<int64_t>() << std::setw(10) << price
          << std::setw(8) << p["images"].size() << p["title"].get<std::string>() << "\n";
    });
    return kOk;
  }
  if (sub == "show") {
    if (args.words.size() != 3) throw UsageError("usage: products show ID");
    json product = service->invoke("products.get", {{"product_id", parse_id(args.words[2], "ID")}},
                                   cli_caller());
    out << product.dump(2) << "\n";
    return kOk;
  }
  throw UsageError("unknown products subcommand \"" + sub + "\"");
}

int cmd_publish(const Args& args, std::ostream& out, std::ostream& err) {
  if (args.words.size() < 3) throw UsageError("usage: publish PLATFORM PRODUCT_ID...");
  std::vector<int64_t> ids;
  for (size_t i = 2; i < args.words.size(); ++i)
    ids.push_back(parse_id(args.words[i], "PRODUCT_ID"));
  auto service = open_service(args);
  int status = kOk;
  json receipts = json::array();
  // Each product is its own operation: one refusal does not hold back the rest.
  for (int64_t id : ids) {
    try {
      json receipt = service->invoke(
          "products.publish", {{"platform", args.words[1]}, {"product_id", id}}, cli_caller());
      receipts.push_back(receipt);
      if (!args.flag("--json")) out << receipt["queue_id"].get<int64_t>() << "\n";
    } catch (const AppError& e) {
      err << "stoflow-host: product " << id << ": " << e.what() << "\n";
      receipts.push_back(
          {{"product_id", id},
           {"error", {{"code", static_cast<int>(e.code())}, {"message", e.what()}}}});
      status = kFailed;
    }
  }
  if (args.flag("--json")) out << receipts.dump(2) << "\n";
  return status;
}

int cmd_queues(const Args& args, std::ostream& out) {
  json params = json::object();
  if (auto s = args.option("--status")) params["status"] = *s;
  if (auto p = args.option("--platform")) params["platform"] = *p;
  if (auto p = args.option("--product")) params["product_id"] = parse_id(*p, "--product");
  int64_t limit = INT64_MAX;
  if (auto l = args.option("--limit")) limit = parse_id(*l, "--limit");
  auto service = open_service(args);
  // Streamed newest first, a page at a time: any number of queues in one page of memory.
  if (args.flag("--json")) {
    JsonArrayWriter writer(out);
    for_each_row(
        *service, "queues.list", params, [&](const json& q) { writer.add(q); }, Order::kNewestFirst,
        limit);
    writer.finish();
    return kOk;
  }
  print_queue_header(out);
  for_each_row(
      *service, "queues.list", params, [&](const json& q) { print_queue_row(q, out); },
      Order::kNewestFirst, limit);
  return kOk;
}

int cmd_queue_action(const Args& args, std::ostream& out, const std::string& method) {
  if (args.words.size() != 2) throw UsageError("usage: " + args.words[0] + " QUEUE_ID");
  auto service = open_service(args);
  json queue =
      service->invoke(method, {{"queue_id", parse_id(args.words[1], "QUEUE_ID")}}, cli_caller());
  if (args.flag("--json")) {
    out << queue.dump(2) << "\n";
  } else if (method == "queues.get") {
    print_queue_detail(queue, out);
  } else {
    out << "queue " << queue["id"] << " is " << queue["status"].get<std::string>() << "\n";
  }
  return kOk;
}

ServeOptions serve_options(const Args& args) {
  ServeOptions options;
  options.db = args.db;
  if (auto port = args.option("--port")) {
    int64_t value = port == "0" ? 0 : parse_id(*port, "--port");
    if (value > 65535) throw UsageError("--port must be at most 65535");
    options.port = static_cast<int>(value);
  }
  if (auto file = args.option("--token-file")) options.token_file = *file;
  options.open_browser = !args.flag("--no-open");
  return options;
}

int cmd_listings(const Args& args, std::ostream& out) {
  json params = json::object();
  if (auto p = args.option("--product")) params["product_id"] = parse_id(*p, "--product");
  if (auto p = args.option("--platform")) params["platform"] = *p;
  if (auto s = args.option("--status")) params["status"] = *s;
  auto service = open_service(args);
  if (args.flag("--json")) {
    JsonArrayWriter writer(out);
    for_each_row(*service, "listings.list", params, [&](const json& l) { writer.add(l); });
    writer.finish();
    return kOk;
  }
  for_each_row(*service, "listings.list", params, [&](const json& l) {
    out << "product " << l["product_id"] << " on " << l["platform"].get<std::string>() << ": "
        << l["status"].get<std::string>() << " " << text_or_dash(l["remote_id"]) << " "
        << text_or_dash(l["url"]);
    if (l.value("out_of_date", false)) {
      out << " (out of date: the product changed since it was published; `stoflow-host update "
          << l["platform"].get<std::string>() << " " << l["product_id"] << "` will send it)";
    }
    out << "\n";
  });
  return kOk;
}

}  // namespace

void print_usage(std::ostream& out) {
  out << "stoflow-host " << service::host_version() << R"( - StoFlow Companion native host

Usage:
  stoflow-host [--db PATH] products import FILE.json [--allow-outside-photos]
                                                        import products; prints their ids. Photo
                                                        paths must stay in FILE.json's folder
                                                        unless --allow-outside-photos is given.
                                                        An entry with "id" (or a known "sku")
                                                        updates that product
  stoflow-host [--db PATH] products list [--json]
  stoflow-host [--db PATH] products show ID
  stoflow-host [--db PATH] products update ID [--price-cents N] [--title T] [--description D]
                                              [--quantity N] [--json]
                                                        change a product; its published listings
                                                        are marked out of date
  stoflow-host [--db PATH] publish PLATFORM PRODUCT_ID...  queue publications; prints queue ids
  stoflow-host [--db PATH] queues [--status S] [--platform P] [--product ID] [--limit N] [--json]
                                                        newest first, streamed
  stoflow-host [--db PATH] queue ID [--json]            one queue and its tasks
  stoflow-host [--db PATH] retry|resume|cancel QUEUE_ID
  stoflow-host [--db PATH] listings [--product ID] [--platform P] [--status S] [--json]
  stoflow-host [--db PATH] serve [--port N] [--token-file F]   local HTTP API and dashboard (127.0.0.1)
  stoflow-host dashboard [--port N] [--no-open]          print and open a one-time dashboard login link
  stoflow-host [--db PATH] doctor [--json] [--browser NAME] [--chrome-user-data-dir DIR]
  stoflow-host install [--system] [--browser NAME]...   register this binary with the browsers
  stoflow-host uninstall [--system] [--browser NAME]... remove that registration
  stoflow-host chrome-extension://ID/ | MANIFEST.json ADDON_ID   (started by the browser)

The database is $STOFLOW_DB, else --db PATH, else the per-user data directory.
Exit codes: 0 done, 1 the request failed, 2 bad usage.
)";
}

int run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  // doctor parses its own, repeatable, options.
  if (doctor::is_doctor_command(argv)) return doctor::run_command(argv, out, err);
  if (install::is_install_command(argv)) return install::run_command(argv, out, err);
  try {
    Args args = parse(argv);
    if (args.flag("--version") || (!args.words.empty() && args.words[0] == "version")) {
      out << "stoflow-host " << service::host_version() << "\n";
      return kOk;
    }
    if (args.flag("--help") || args.flag("-h") || args.words.empty() || args.words[0] == "help") {
      print_usage(args.words.empty() && !args.flag("--help") && !args.flag("-h") ? err : out);
      return args.words.empty() && !args.flag("--help") && !args.flag("-h") ? kUsage : kOk;
    }
    const std::string& command = args.words[0];
    if (args.flag("--allow-outside-photos") && command != "products") {
      throw UsageError("--allow-outside-photos only applies to products import");
    }
    if (command == "products") return cmd_products(args, out);
    if (command == "publish") return cmd_publish(args, out, err);
    if (command == "queues") return cmd_queues(args, out);
    if (command == "queue") return cmd_queue_action(args, out, "queues.get");
    if (command == "retry") return cmd_queue_action(args, out, "queues.retry");
    if (command == "resume") return cmd_queue_action(args, out, "queues.resume");
    if (command == "cancel") return cmd_queue_action(args, out, "queues.cancel");
    if (command == "listings") return cmd_listings(args, out);
    if (command == "serve") return run_serve(serve_options(args), out, err);
    if (command == "dashboard") return run_dashboard(serve_options(args), out, err);
    throw UsageError("unknown command \"" + command + "\"");
  } catch (const UsageError& e) {
    err << "stoflow-host: " << e.what() << "\n(see stoflow-host --help)\n";
    return kUsage;
  } catch (const std::exception& e) {
    auto reply = service::error_reply(e, "command line");
    err << "stoflow-host: " << reply.message << "\n";
    if (reply.data.is_object() && reply.data.contains("missing_fields")) {
      err << "  missing: " << reply.data["missing_fields"].dump() << "\n";
    }
    return kFailed;
  }
}

}  // namespace stoflow::cli
