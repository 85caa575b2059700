// util/crypto is our own code (no OpenSSL): checked here against the
// standards' own vectors, against digests computed by an independent
// implementation (Python's hashlib) where SHA-256 padding changes shape, and
// against coreutils' sha256sum and base64 on random data. SHA-256 has two
// paths (portable, and the x86 SHA extensions where the CPU has them): every
// SHA-256 test runs on each path this CPU has, and the paths are checked
// against each other.
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "test_support.h"
#include "util/crypto.h"

using namespace stoflow;

namespace {

std::span<const unsigned char> bytes_of(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

// The message of `n` bytes whose byte i is (31 i + 7) mod 256.
std::string pattern(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 31 + 7) & 0xFF);
  return out;
}

using detail::Sha256Path;

const char* name_of(Sha256Path path) {
  return path == Sha256Path::kShaNi ? "SHA-NI" : "portable";
}

// Every SHA-256 path this CPU runs, the portable one first.
std::vector<Sha256Path> sha256_paths() {
  std::vector<Sha256Path> paths = {Sha256Path::kPortable};
  if (detail::sha256_path_available(Sha256Path::kShaNi)) paths.push_back(Sha256Path::kShaNi);
  return paths;
}

// The path of the Sha256 objects made in its scope.
class UsePath {
 public:
  explicit UsePath(Sha256Path path) : saved_(detail::sha256_path()) {
    detail::set_sha256_path(path);
  }
  ~UsePath() { detail::set_sha256_path(saved_); }
  UsePath(const UsePath&) = delete;
  UsePath& operator=(const UsePath&) = delete;

 private:
  Sha256Path saved_;
};

std::string sha256_on(Sha256Path path, std::string_view data) {
  UsePath use(path);
  return sha256_hex(data);
}

// The digest of `data` fed to update() in pieces that end at random points
// (empty pieces included).
std::string sha256_in_pieces(Sha256Path path, std::string_view data, std::mt19937_64& random,
                             size_t max_piece) {
  UsePath use(path);
  Sha256 hash;
  size_t at = 0;
  while (at < data.size()) {
    size_t piece = std::min<size_t>(random() % (max_piece + 1), data.size() - at);
    hash.update(data.data() + at, piece);
    at += piece;
  }
  hash.update(data.data() + at, 0);
  return hash.hex_digest();
}

std::string random_bytes(std::mt19937_64& random, size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(random() & 0xFF);
  return out;
}

// The flags of the first CPU in /proc/cpuinfo, as the kernel reports them.
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string word; words >> word;) flags.insert(word);
    return flags;
  }
  return {};
}

// A coreutils program's standard output; fails the test if it fails.
std::string coreutils(const std::vector<std::string>& argv) {
  auto result = testing::run_program(argv, {{"LC_ALL", "C"}}, true);
  BOOST_TEST_REQUIRE(result.exit_code == 0, argv[0] << " failed: " << result.err);
  return result.out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto)

// FIPS 180-4's examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf"), on
// every path.
BOOST_AUTO_TEST_CASE(sha256_matches_the_standard_test_vectors) {
  for (auto path : sha256_paths()) {
    BOOST_TEST_CONTEXT(name_of(path)) {
      UsePath use(path);
      BOOST_TEST(sha256_hex("") ==
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
      BOOST_TEST(sha256_hex("abc") ==
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      BOOST_TEST(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
      BOOST_TEST(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                            "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
      BOOST_TEST(sha256_hex(std::string(1'000'000, 'a')) ==
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
  }
}

// Messages ending just before, at and after the 56-byte mark where the
// length no longer fits in the last block, and at block boundaries.
BOOST_AUTO_TEST_CASE(sha256_pads_every_length_around_block_boundaries) {
  const std::vector<std::pair<size_t, std::string>> expected = {
      {1, "ca358758f6d27e6cf45272937977a748fd88391db679ceda7dc7bf1f005ee879"},
      {55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b"},
      {56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63"},
      {57, "5b46e502092be01b1100193e089fdda95638c12e19a1d24f308eb2c3d3ae849d"},
      {63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076"},
      {64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd"},
      {65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0"},
      {111, "dd1413178fb627f9abbc041ffe39c44aa7aaa0e2e6d2ca5c4528ac7073a2da45"},
      {112, "a65c92dac124062d0ab951a42773cb04fc98d1d4bf8897b176f8cff3509d379e"},
      {119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe"},
      {120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656"},
      {127, "192409cd280e14b743642ad1343fbd3e82d9305de72c078117745a679210cc3d"},
      {128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356"},
      {129, "81e89a7b2911aaa7795f9e3d4910cb47d6cd2b00d83b8399481527261a1a7519"},
      {1000, "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179"},
  };
  for (auto path : sha256_paths()) {
    for (const auto& [length, digest] : expected) {
      BOOST_TEST_CONTEXT(name_of(path) << ", length " << length) {
        BOOST_TEST(sha256_on(path, pattern(length)) == digest);
      }
    }
  }
}

// The blob store feeds files in chunks: any split gives the one-shot digest.
BOOST_AUTO_TEST_CASE(sha256_streaming_gives_the_same_digest_whatever_the_pieces) {
  std::string million(1'000'000, 'a');
  for (auto path : sha256_paths()) {
    UsePath use(path);
    for (size_t piece : {size_t{1}, size_t{3}, size_t{55}, size_t{63}, size_t{64}, size_t{65},
                         size_t{1000}, size_t{65'536}, size_t{999'999}}) {
      BOOST_TEST_CONTEXT(name_of(path) << ", pieces of " << piece) {
        Sha256 hash;
        for (size_t at = 0; at < million.size(); at += piece) {
          hash.update(million.data() + at, std::min(piece, million.size() - at));
        }
        BOOST_TEST(hash.hex_digest() ==
                   "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
      }
    }
    // Uneven pieces, empty ones included, over a message that is not all one byte.
    std::string message = pattern(1000);
    Sha256 hash;
    size_t at = 0;
    for (size_t piece = 0; at < message.size(); piece = (piece + 7) % 71) {
      size_t n = std::min(piece, message.size() - at);
      hash.update(message.data() + at, n);
      at += n;
    }
    BOOST_TEST(
        hash.hex_digest() == "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179",
        name_of(path));
  }
}

// The path is the kernel's reading of CPUID too: on this x86 machine SHA-NI
// is used exactly when /proc/cpuinfo lists sha_ni, ssse3 and sse4_1, so a
// CPU with the extensions cannot silently fall back to the slow path, nor
// one without them crash on an illegal instruction. Elsewhere, only the
// portable path exists.
BOOST_AUTO_TEST_CASE(sha256_uses_the_sha_extensions_exactly_when_the_cpu_has_them) {
  BOOST_TEST(detail::sha256_path_available(Sha256Path::kPortable));
  auto flags = cpu_flags();
  BOOST_TEST_REQUIRE(!flags.empty(), "no flags line in /proc/cpuinfo");
#if defined(__x86_64__)
  bool has = flags.count("sha_ni") && flags.count("ssse3") && flags.count("sse4_1");
#else
  bool has = false;
#endif
  BOOST_TEST(detail::sha256_path_available(Sha256Path::kShaNi) == has);
  BOOST_TEST((detail::sha256_path() == (has ? Sha256Path::kShaNi : Sha256Path::kPortable)));
  if (!has) {
    BOOST_CHECK_THROW(detail::set_sha256_path(Sha256Path::kShaNi), std::invalid_argument);
  }
  BOOST_TEST_MESSAGE("SHA-256 paths checked against each other on this CPU: "
                     << (has ? "portable and SHA-NI" : "portable only"));
}

// Each path against the other (and against itself) at every length from 0 to
// 300, whole and in random pieces; then longer messages in random pieces.
BOOST_AUTO_TEST_CASE(sha256_paths_agree_at_every_length_and_split) {
  std::mt19937_64 random(20261130);
  auto paths = sha256_paths();
  std::string message = random_bytes(random, 300);
  for (size_t length = 0; length <= 300; ++length) {
    std::string_view part(message.data(), length);
    std::string want = sha256_on(Sha256Path::kPortable, part);
    for (auto path : paths) {
      BOOST_TEST_CONTEXT(name_of(path) << ", length " << length) {
        BOOST_TEST(sha256_on(path, part) == want);
        BOOST_TEST(sha256_in_pieces(path, part, random, 70) == want);
      }
    }
  }
  for (size_t length : {size_t{4095}, size_t{4096}, size_t{65'537}, size_t{300'001}}) {
    std::string long_message = random_bytes(random, length);
    std::string want = sha256_on(paths.back(), long_message);
    for (auto path : paths) {
      for (size_t max_piece : {size_t{130}, size_t{5000}, size_t{70'000}}) {
        BOOST_TEST_CONTEXT(name_of(path)
                           << ", length " << length << ", pieces up to " << max_piece) {
          BOOST_TEST(sha256_in_pieces(path, long_message, random, max_piece) == want);
        }
      }
    }
  }
}

// coreutils' sha256sum, an implementation that is not ours, on random files
// of every length from 0 to 300 and a few long ones, hashed here in pieces.
BOOST_AUTO_TEST_CASE(sha256_matches_coreutils_sha256sum) {
  std::mt19937_64 random(4242);
  testing::TempDir dir;
  std::vector<std::string> contents;
  std::vector<std::string> argv = {"/usr/bin/sha256sum"};
  for (size_t length = 0; length <= 300; ++length) contents.push_back(random_bytes(random, length));
  for (size_t length : {size_t{1'000'003}, size_t{262'144}, size_t{5'000'000 + random() % 4096}}) {
    contents.push_back(random_bytes(random, length));
  }
  for (size_t i = 0; i < contents.size(); ++i) {
    auto file = dir / ("f" + std::to_string(i));
    testing::write_file(file, contents[i]);
    argv.push_back(file.string());
  }
  std::istringstream lines(coreutils(argv));
  std::vector<std::string> sums;
  for (std::string line; std::getline(lines, line);) sums.push_back(line.substr(0, 64));
  BOOST_TEST_REQUIRE(sums.size() == contents.size());
  for (auto path : sha256_paths()) {
    for (size_t i = 0; i < contents.size(); ++i) {
      BOOST_TEST_CONTEXT(name_of(path) << ", " << contents[i].size() << " bytes") {
        BOOST_TEST(sha256_on(path, contents[i]) == sums[i]);
        BOOST_TEST(sha256_in_pieces(path, contents[i], random, 300'000) == sums[i]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_finished_sha256_refuses_more_input) {
  Sha256 hash;
  hash.update("abc", 3);
  BOOST_TEST(hash.hex_digest() == sha256_hex("abc"));
  BOOST_CHECK_THROW(hash.update("d", 1), std::logic_error);
  BOOST_CHECK_THROW(hash.hex_digest(), std::logic_error);
}

// RFC 4648, section 10, and the two characters past the letters and digits.
BOOST_AUTO_TEST_CASE(base64_matches_the_rfc_test_vectors) {
  BOOST_TEST(base64_encode(bytes_of("")) == "");
  BOOST_TEST(base64_encode(bytes_of("f")) == "Zg==");
  BOOST_TEST(base64_encode(bytes_of("fo")) == "Zm8=");
  BOOST_TEST(base64_encode(bytes_of("foo")) == "Zm9v");
  BOOST_TEST(base64_encode(bytes_of("foob")) == "Zm9vYg==");
  BOOST_TEST(base64_encode(bytes_of("fooba")) == "Zm9vYmE=");
  BOOST_TEST(base64_encode(bytes_of("foobar")) == "Zm9vYmFy");
  BOOST_TEST(base64_encode(bytes_of("\xfb\xff")) == "+/8=");
  BOOST_TEST(base64_encode(bytes_of(std::string("\0\0\0", 3))) == "AAAA");
  BOOST_TEST(base64_decode("") == "");
  BOOST_TEST(base64_decode("Zg==") == "f");
  BOOST_TEST(base64_decode("Zm8=") == "fo");
  BOOST_TEST(base64_decode("Zm9v") == "foo");
  BOOST_TEST(base64_decode("Zm9vYg==") == "foob");
  BOOST_TEST(base64_decode("Zm9vYmE=") == "fooba");
  BOOST_TEST(base64_decode("Zm9vYmFy") == "foobar");
  BOOST_TEST(base64_decode("+/8=") == "\xfb\xff");
  BOOST_TEST((base64_decode("AAAA") == std::string("\0\0\0", 3)));
}

// What blobs.read sends the extension decodes back to the bytes, at every
// length modulo 3 and for every byte value.
BOOST_AUTO_TEST_CASE(base64_round_trips_every_byte_value_and_length) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  all += testing::png_bytes(2000, 3);
  for (size_t length = 0; length <= all.size(); length += (length < 300 ? 1 : 97)) {
    std::string input = all.substr(0, length);
    std::string encoded = base64_encode(bytes_of(input));
    BOOST_TEST_CONTEXT("length " << length) {
      BOOST_TEST(encoded.size() == 4 * ((length + 2) / 3));
      BOOST_TEST(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789+/=") == std::string::npos);
      BOOST_TEST((testing::base64_decode(encoded) == input));
      BOOST_TEST((base64_decode(encoded) == input));
    }
  }
}

// coreutils' base64 -w0, an implementation that is not ours, on random bytes
// of every length from 0 to 300 and a few long ones (one shell runs it on
// each file, a line each): the same text, and that text decodes back to the
// bytes.
BOOST_AUTO_TEST_CASE(base64_matches_coreutils_base64) {
  std::mt19937_64 random(31337);
  testing::TempDir dir;
  std::vector<std::string> contents;
  for (size_t length = 0; length <= 300; ++length) contents.push_back(random_bytes(random, length));
  for (size_t length : {size_t{524'288}, size_t{1'000'000}, size_t{1'000'001}, size_t{1'000'002}}) {
    contents.push_back(random_bytes(random, length));
  }
  std::vector<std::string> argv = {
      "/bin/sh", "-c", "for f in \"$@\"; do base64 -w0 \"$f\" || exit 1; echo; done", "sh"};
  for (size_t i = 0; i < contents.size(); ++i) {
    auto file = dir / ("f" + std::to_string(i));
    testing::write_file(file, contents[i]);
    argv.push_back(file.string());
  }
  std::istringstream lines(coreutils(argv));
  std::vector<std::string> theirs;
  for (std::string line; std::getline(lines, line);) theirs.push_back(line);
  BOOST_TEST_REQUIRE(theirs.size() == contents.size());
  for (size_t i = 0; i < contents.size(); ++i) {
    BOOST_TEST_CONTEXT(contents[i].size() << " bytes") {
      BOOST_TEST(base64_encode(bytes_of(contents[i])) == theirs[i]);
      BOOST_TEST((base64_decode(theirs[i]) == contents[i]));
    }
  }
}

namespace {

// The message of the std::invalid_argument base64_decode throws, or "" if
// it takes the text.
std::string rejection(std::string_view text) {
  try {
    base64_decode(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

const std::string kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

// Only text base64_encode could have written is taken; the rest is refused
// with where and what.
BOOST_AUTO_TEST_CASE(base64_decode_refuses_each_kind_of_malformed_text) {
  // A length that is not a multiple of 4, a padded group cut short included.
  for (std::string text : {"A", "AB", "ABC", "ABCDE", "Zg=", "Zg===", "Zm9vYmFy=", "Zm9vY"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(rejection(text).find("not a multiple of 4") != std::string::npos);
    }
  }
  // Every byte outside the alphabet, at each place of the first and the
  // last group: whitespace, line breaks, the URL-safe '-' and '_', NUL, 8-bit.
  const std::string valid = "Zm9vYmFy";
  for (int byte = 0; byte < 256; ++byte) {
    char c = static_cast<char>(byte);
    if (c == '=' || kBase64Alphabet.find(c) != std::string::npos) continue;
    for (size_t at = 0; at < valid.size(); ++at) {
      std::string text = valid;
      text[at] = c;
      BOOST_TEST_CONTEXT("byte " << byte << " at " << at) {
        std::string why = rejection(text);
        BOOST_TEST(why.find("not in its alphabet, at offset " + std::to_string(at)) !=
                   std::string::npos);
      }
    }
  }
  BOOST_TEST(!rejection("Zm9v\nYmE=").empty());
  BOOST_TEST(!rejection("Zm9v YmE").empty());
  BOOST_TEST(!rejection("Zm9vYmFy\r\n").empty());
  // '=' anywhere but as the last one or two characters.
  for (std::string text : {"=AAA", "A===", "====", "AA=A", "A=AA", "=A==", "AAA=AAAA", "AA==AAAA",
                           "Zg==Zg==", "Zm8=Zm9v", "Zm9v=AAA", "Zm9vZm=v"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(rejection(text).find("padding '=' at offset") != std::string::npos);
    }
  }
  // Bits past the data that are not zero: "Zh==" would be 'f' as well as
  // "Zg==" is, but base64_encode writes only the latter.
  for (std::string text : {"Zh==", "Zm9=", "Zm9vYh==", "Zm9vYmF=", "//==", "///="}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(rejection(text).find("bits past the data are not zero") != std::string::npos);
    }
  }
}

// Every group of four characters from the alphabet and '=' that starts with
// 'Q' (65^3 of them): exactly those base64_encode writes for 1, 2 or 3 bytes
// are taken, and each is taken back to the same text; a group starting with
// '=' never is.
BOOST_AUTO_TEST_CASE(base64_decode_takes_exactly_the_texts_of_some_bytes) {
  const std::string symbols = kBase64Alphabet + "=";
  size_t taken = 0;
  std::string text = "Q...";
  for (char c1 : symbols) {
    for (char c2 : symbols) {
      for (char c3 : symbols) {
        text[1] = c1;
        text[2] = c2;
        text[3] = c3;
        std::string bytes;
        try {
          bytes = base64_decode(text);
        } catch (const std::invalid_argument&) {
          continue;
        }
        ++taken;
        if (base64_encode(bytes_of(bytes)) != text)
          BOOST_ERROR("taken but not canonical: " << text);
      }
    }
  }
  // 'Q' then any 3 of 64; 2 of 64 and one of the 16 whose last 2 bits are
  // zero, then '='; one of the 4 whose last 4 bits are zero, then "==".
  BOOST_TEST(taken == 64u * 64 * 64 + 64 * 16 + 4);
  for (char c1 : symbols) {
    for (char c2 : symbols) {
      BOOST_TEST(!rejection(std::string("=") + c1 + c2 + "=").empty());
      BOOST_TEST(!rejection(std::string("=") + c1 + c2 + "A").empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(uuids_are_version_4_and_distinct) {
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string uuid = random_uuid();
    BOOST_TEST_CONTEXT(uuid) {
      BOOST_TEST(std::regex_match(uuid, shape));
    }
    seen.insert(uuid);
  }
  BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(random_hex_has_the_length_asked_and_uses_every_digit) {
  BOOST_TEST(random_hex(0) == "");
  std::string hex = random_hex(4096);
  BOOST_TEST(hex.size() == 8192u);
  BOOST_TEST(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  // 8192 random digits miss one of 16 values with probability < 1e-200.
  BOOST_TEST(std::set<char>(hex.begin(), hex.end()).size() == 16u);
  BOOST_TEST(random_hex(32) != random_hex(32));
}

BOOST_AUTO_TEST_CASE(is_sha256_hex_takes_only_lowercase_64_digit_hex) {
  BOOST_TEST(is_sha256_hex(sha256_hex("x")));
  BOOST_TEST(!is_sha256_hex(std::string(63, 'a')));
  BOOST_TEST(!is_sha256_hex(std::string(65, 'a')));
  BOOST_TEST(!is_sha256_hex(std::string(64, 'A')));
  BOOST_TEST(!is_sha256_hex(std::string(63, 'a') + "g"));
}

namespace {

// A getrandom(2) stand-in that plays back a script of results: a positive
// number fills that many bytes with its call's index, -1 fails with the
// scripted errno.
struct Script {
  std::vector<std::pair<ssize_t, int>> results;  // {return value, errno}
  std::vector<size_t> asked;
  size_t next = 0;
};
Script* script = nullptr;

ssize_t scripted_random(void* buffer, size_t size, unsigned) {
  script->asked.push_back(size);
  auto [n, error] = script->results.at(script->next++);
  if (n < 0) {
    errno = error;
    return -1;
  }
  std::memset(buffer, static_cast<int>(script->next), static_cast<size_t>(n));
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_bytes_retry_after_interrupts_and_short_reads) {
  Script s;
  s.results = {{-1, EINTR}, {3, 0}, {-1, EINTR}, {4, 0}, {3, 0}};
  script = &s;
  unsigned char out[10] = {0};
  detail::fill_random(out, sizeof out, scripted_random);
  BOOST_TEST(s.next == 5u);
  BOOST_TEST(s.asked == (std::vector<size_t>{10, 10, 7, 7, 3}), boost::test_tools::per_element());
  const unsigned char want[10] = {2, 2, 2, 4, 4, 4, 4, 5, 5, 5};
  BOOST_TEST(out == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(random_bytes_fail_loudly_on_a_real_error_or_no_progress) {
  Script s;
  s.results = {{2, 0}, {-1, ENOSYS}};
  script = &s;
  unsigned char out[8];
  try {
    detail::fill_random(out, sizeof out, scripted_random);
    BOOST_FAIL("no exception");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("random generator failed") != std::string::npos);
  }
  Script zero;
  zero.results = {{0, 0}};
  script = &zero;
  BOOST_CHECK_THROW(detail::fill_random(out, sizeof out, scripted_random), std::runtime_error);
  script = nullptr;
}

BOOST_AUTO_TEST_SUITE_END()
