#include <cstring>

#include <boost/test/unit_test.hpp>

#include "messaging/framing.h"
#include "util/errors.h"

using namespace stoflow;
using namespace stoflow::messaging;

namespace {
std::string frame(const std::string& body) {
  uint32_t n = static_cast<uint32_t>(body.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + body;
}
std::string header(uint32_t n) {
  return std::string(reinterpret_cast<const char*>(&n), 4);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(framing_suite)

BOOST_AUTO_TEST_CASE(assembles_frames_fed_one_byte_at_a_time) {
  FrameDecoder decoder;
  std::string stream = frame(R"({"a":1})") + frame(R"({"b":2})");
  for (char c : stream) decoder.feed(std::string_view(&c, 1));
  auto first = decoder.next();
  auto second = decoder.next();
  BOOST_REQUIRE(first && second);
  BOOST_TEST(first->payload == R"({"a":1})");
  BOOST_TEST(second->payload == R"({"b":2})");
  BOOST_TEST(!decoder.next());
  BOOST_TEST(!decoder.mid_frame());
}

BOOST_AUTO_TEST_CASE(reports_a_partial_frame) {
  FrameDecoder decoder;
  decoder.feed(header(10) + "abc");
  BOOST_TEST(!decoder.next());
  BOOST_TEST(decoder.mid_frame());
  FrameDecoder only_header;
  only_header.feed(std::string("\x05\x00", 2));
  BOOST_TEST(only_header.mid_frame());
}

BOOST_AUTO_TEST_CASE(zero_length_is_an_empty_frame) {
  FrameDecoder decoder;
  decoder.feed(header(0));
  auto event = decoder.next();
  BOOST_REQUIRE(event);
  BOOST_TEST(event->payload.empty());
  BOOST_TEST(static_cast<int>(event->kind) == static_cast<int>(FrameEvent::Kind::kFrame));
}

BOOST_AUTO_TEST_CASE(skips_an_oversize_frame_and_keeps_the_stream) {
  FrameDecoder decoder(16);
  std::string big(40, 'x');
  decoder.feed(header(40) + big.substr(0, 10));
  decoder.feed(big.substr(10) + frame("{}"));
  auto refused = decoder.next();
  BOOST_REQUIRE(refused);
  BOOST_TEST(static_cast<int>(refused->kind) == static_cast<int>(FrameEvent::Kind::kOversize));
  BOOST_TEST(refused->declared == 40u);
  auto next = decoder.next();
  BOOST_REQUIRE(next);
  BOOST_TEST(next->payload == "{}");
}

BOOST_AUTO_TEST_CASE(the_default_limit_is_64_mib) {
  FrameDecoder decoder;
  decoder.feed(header(64u * 1024 * 1024 + 1));
  auto refused = decoder.next();
  BOOST_REQUIRE(refused);
  BOOST_TEST(static_cast<int>(refused->kind) == static_cast<int>(FrameEvent::Kind::kOversize));
}

BOOST_AUTO_TEST_CASE(encoding_checks_the_outgoing_limit) {
  std::string ok = encode_frame("{}");
  uint32_t n = 0;
  std::memcpy(&n, ok.data(), 4);
  BOOST_TEST(n == 2u);
  BOOST_TEST(ok.substr(4) == "{}");
  BOOST_CHECK_THROW(encode_frame(std::string(kMaxOutgoingFrame + 1, 'x')), AppError);
  BOOST_CHECK_NO_THROW(encode_frame(std::string(kMaxOutgoingFrame, 'x')));
}

BOOST_AUTO_TEST_SUITE_END()
