#pragma once
// The Windows registry, as far as registering a native-messaging host needs it: the default value
// of a key. Chrome, Edge, Brave, Vivaldi and Firefox on Windows find a host manifest through the
// key <location>\com.stoflow.companion (the windows rows of installer/browsers.tsv) whose default
// value is the manifest file's full path.
//
// Keys are spelled as in the table, hive first, with the host's subkey:
// "HKCU\Software\Google\Chrome\NativeMessagingHosts\com.stoflow.companion".
// The installer only ever uses HKCU keys.
//
// The real implementation belongs to the Windows port (RegGetValueW, RegSetKeyValueW,
// RegDeleteTreeW); POSIX builds have none, and the tests use a map.
#include <memory>
#include <optional>
#include <string>

namespace stoflow::install {

class Registry {
 public:
  virtual ~Registry() = default;

  // The key's default (unnamed) string value; nullopt when the key or the value does not exist.
  virtual std::optional<std::string> default_value(const std::string& key) const = 0;
  // Creates the key (and its parents) when missing and sets its default value. Throws
  // std::runtime_error with the system's reason when it cannot.
  virtual void set_default_value(const std::string& key, const std::string& value) = 0;
  // Deletes the key and everything under it; nothing when it does not exist. Throws
  // std::runtime_error with the system's reason when it cannot.
  virtual void remove(const std::string& key) = 0;
};

// This system's registry: nullptr where there is none (every POSIX build).
std::unique_ptr<Registry> system_registry();

}  // namespace stoflow::install
