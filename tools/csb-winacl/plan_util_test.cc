// Unit tests for the planner's small pieces (plan_util.c): firewall port
// complements, loopback proxy URLs (reference B3.1), SID syntax, masks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "csb_json.h"
#include "plan.h"
int csb_fuzz_plan_one(const uint8_t *data, size_t size);
}

#include "tests/lib/mutate.h"

namespace {

std::string Complement(std::initializer_list<int> ports) {
  int v[16];
  size_t n = 0;
  for (int p : ports) v[n++] = p;
  char *s = wa_port_complement(v, n);
  std::string r(s);
  free(s);
  return r;
}

TEST(PortComplement, Gaps) {
  EXPECT_EQ(Complement({3128, 8080}), "1-3127,3129-8079,8081-65535");
  EXPECT_EQ(Complement({}), "1-65535");
  EXPECT_EQ(Complement({1}), "2-65535");
  EXPECT_EQ(Complement({65535}), "1-65534");
  EXPECT_EQ(Complement({1, 2, 3}), "4-65535");
  EXPECT_EQ(Complement({2, 4}), "1,3,5-65535");
  EXPECT_EQ(Complement({1, 65535}), "2-65534");
}

TEST(PortComplement, EveryPortLeavesNothing) {
  int *all = static_cast<int *>(malloc(65535 * sizeof(int)));
  for (int i = 0; i < 65535; i++) all[i] = i + 1;
  char *s = wa_port_complement(all, 65535);
  EXPECT_STREQ(s, "");
  free(s);
  free(all);
}

TEST(LoopbackUrl, AcceptsExplicitLoopbackPorts) {
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:3128"), 3128);
  EXPECT_EQ(wa_loopback_url_port("http://LOCALHOST:8080/"), 8080);
  EXPECT_EQ(wa_loopback_url_port("socks5h://[::1]:1080"), 1080);
  EXPECT_EQ(wa_loopback_url_port("http://user:pw@localhost:9000"), 9000);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:65535?x"), 65535);
}

TEST(LoopbackUrl, RejectsEverythingElse) {
  EXPECT_EQ(wa_loopback_url_port("localhost:8080"), 0);         // no scheme
  EXPECT_EQ(wa_loopback_url_port("http://localhost"), 0);       // no default port
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:0"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.1:65536"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://10.0.0.5:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://127.0.0.2:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://[::2]:3128"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://[::1]"), 0);
  EXPECT_EQ(wa_loopback_url_port("http://localhost:8x"), 0);
  EXPECT_EQ(wa_loopback_url_port(nullptr), 0);
}

TEST(Sid, Syntax) {
  EXPECT_TRUE(wa_is_sid("S-1-5-21-1-2-3-1001"));
  EXPECT_TRUE(wa_is_sid("S-1-1-0"));
  EXPECT_TRUE(wa_is_sid("S-1-5-21-4294967295-1-2-3"));
  EXPECT_FALSE(wa_is_sid("S-1-5-21-4294967296-1-2-3"));
  EXPECT_FALSE(wa_is_sid("S-2-5-21"));
  EXPECT_FALSE(wa_is_sid("S-1-5"));
  EXPECT_FALSE(wa_is_sid("S-1-5-"));
  EXPECT_FALSE(wa_is_sid("S-1-x"));
  EXPECT_FALSE(wa_is_sid("hello"));
  EXPECT_FALSE(wa_is_sid(""));
  EXPECT_FALSE(wa_is_sid(nullptr));
}

TEST(Sid, CanonicalSpelling) {
  struct Case {
    const char *in, *out;
  } cases[] = {
      {"S-1-5-21-1000-2000-3000-1001", "S-1-5-21-1000-2000-3000-1001"},
      {"s-1-5-21-01000-2000-3000-1001", "S-1-5-21-1000-2000-3000-1001"},
      {"S-01-005-32-0544", "S-1-5-32-544"},
      {"S-1-1-0", "S-1-1-0"},
  };
  for (const Case &c : cases) {
    ASSERT_TRUE(wa_is_sid(c.in)) << c.in;
    char *got = wa_sid_canonical(c.in);
    EXPECT_STREQ(got, c.out) << c.in;
    free(got);
  }
}

TEST(Sid, CapabilityForm) {
  EXPECT_TRUE(wa_is_cap_sid("S-1-5-21-1-2-3-4"));
  EXPECT_TRUE(wa_is_cap_sid("s-1-5-21-4294967295-0-0-4294967295"));
  EXPECT_FALSE(wa_is_cap_sid("S-1-1-0"));             /* Everyone */
  EXPECT_FALSE(wa_is_cap_sid("S-1-5-32-545"));        /* Users */
  EXPECT_FALSE(wa_is_cap_sid("S-1-5-21-1-2-3"));      /* a domain, not a capability */
  EXPECT_FALSE(wa_is_cap_sid("S-1-5-21-1-2-3-4-5"));  /* five subauthorities */
  EXPECT_FALSE(wa_is_cap_sid("S-1-15-3-1-2-3-4"));
  EXPECT_FALSE(wa_is_cap_sid("S-1-5-21-4294967296-1-2-3"));
  EXPECT_FALSE(wa_is_cap_sid(nullptr));
}

std::vector<std::string> Revocations(const char *state, const char *stored, int sid_known) {
  cJSON *st = nullptr, *have = nullptr;
  EXPECT_TRUE(csb_json_parse(state, strlen(state), &st, nullptr));
  if (stored) {
    EXPECT_TRUE(csb_json_parse(stored, strlen(stored), &have, nullptr));
  }
  csb_strv out;
  csb_strv_init(&out);
  wa_state_revocations(st, have, sid_known, &out);
  std::vector<std::string> v(out.items, out.items + out.len);
  csb_strv_free(&out);
  cJSON_Delete(st);
  cJSON_Delete(have);
  return v;
}

// A plan that knew the group's SID carries its revocations; one made
// without it (no --sid group=) leaves the applier to compare what the
// state holds for the group with the plan's record, as NTFS compares
// names. That plan used to be refused as stale after its first apply.
TEST(DenyReadState, Revocations) {
  const char *state =
      R"({"recorded": [], "revoke": ["C:\\old"], "record": ["C:\\Repo\\.env", "D:\\k\\Ä"]})";
  EXPECT_EQ(Revocations(state, R"(["C:\\x"])", 1), (std::vector<std::string>{"C:\\old"}));
  EXPECT_EQ(Revocations(state, R"(["c:\\repo\\.ENV", "C:\\gone", "d:\\K\\ä", "C:\\gone2"])", 0),
            (std::vector<std::string>{"C:\\gone", "C:\\gone2"}));
  EXPECT_EQ(Revocations(state, nullptr, 0), std::vector<std::string>{});
}

// Up to --max-deny-read-paths (100000) paths each side: one pass over
// each list, not every stored path against every recorded one (each
// comparison folding both names: minutes at 50000).
TEST(DenyReadState, RevocationsOfALargeStateTakeLinearTime) {
  const int n = 50000;
  cJSON *state = cJSON_CreateObject();
  cJSON *record = cJSON_AddArrayToObject(state, "record");
  cJSON *stored = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    std::string p = "C:\\Repo\\dir" + std::to_string(i) + "\\.env";
    cJSON_AddItemToArray(record, cJSON_CreateString(p.c_str()));
    // stored as another spelling of the same name, every third one gone
    std::string q = i % 3 == 0 ? "c:\\gone\\" + std::to_string(i) : "c:\\repo\\DIR" + std::to_string(i) + "\\.ENV";
    cJSON_AddItemToArray(stored, cJSON_CreateString(q.c_str()));
  }
  csb_strv out;
  csb_strv_init(&out);
  auto t0 = std::chrono::steady_clock::now();
  wa_state_revocations(state, stored, 0, &out);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 10.0);
  ASSERT_EQ(out.len, (size_t)(n + 2) / 3);
  EXPECT_STREQ(out.items[0], "c:\\gone\\0");
  EXPECT_STREQ(out.items[out.len - 1], ("c:\\gone\\" + std::to_string((n - 1) / 3 * 3)).c_str());
  csb_strv_free(&out);
  cJSON_Delete(state);
  cJSON_Delete(stored);
}

bool RecordedSame(const char *have, const char *recorded) {
  cJSON *h = nullptr, *r = nullptr;
  if (have) {
    EXPECT_TRUE(csb_json_parse(have, strlen(have), &h, nullptr));
  }
  if (recorded) {
    EXPECT_TRUE(csb_json_parse(recorded, strlen(recorded), &r, nullptr));
  }
  bool same = wa_state_recorded_same(h, r) != 0;
  cJSON_Delete(h);
  cJSON_Delete(r);
  return same;
}

// Whether the state still holds for the group what the plan recorded:
// the same strings in the same order (byte for byte: the applier wrote
// them), nothing and an empty list alike.
TEST(DenyReadState, RecordedSame) {
  EXPECT_TRUE(RecordedSame(nullptr, nullptr));
  EXPECT_TRUE(RecordedSame("[]", nullptr));
  EXPECT_TRUE(RecordedSame(nullptr, "[]"));
  EXPECT_TRUE(RecordedSame(R"(["C:\\a", "C:\\b"])", R"(["C:\\a", "C:\\b"])"));
  EXPECT_FALSE(RecordedSame(R"(["C:\\b", "C:\\a"])", R"(["C:\\a", "C:\\b"])"));
  EXPECT_FALSE(RecordedSame(R"(["C:\\a"])", R"(["C:\\a", "C:\\b"])"));
  EXPECT_FALSE(RecordedSame(R"(["C:\\a", "C:\\b"])", R"(["C:\\a"])"));
  EXPECT_FALSE(RecordedSame(R"(["c:\\a"])", R"(["C:\\a"])"));
  EXPECT_FALSE(RecordedSame(R"([1])", R"([1])"));
  EXPECT_FALSE(RecordedSame(R"({"x": "C:\\a"})", R"(["C:\\a"])"));
  EXPECT_FALSE(RecordedSame(nullptr, R"(["C:\\a"])"));
}

TEST(Masks, NamesAndValues) {
  EXPECT_EQ(WA_MASK_READ_EXECUTE, 0x001200a9u);
  EXPECT_EQ(WA_MASK_RWX, 0x001201bfu);
  EXPECT_EQ(WA_MASK_WRITE_ALLOW, 0x001301bfu);
  EXPECT_EQ(WA_MASK_WRITE_ALLOW & WA_FILE_DELETE_CHILD, 0u);
  EXPECT_EQ(WA_MASK_DENY_WRITE, 0x40130156u);
  EXPECT_EQ(WA_MASK_DENY_READ, 0x80120089u);
  EXPECT_STREQ(wa_mask_name(WA_MASK_DENY_READ), "DENY_READ");
  EXPECT_STREQ(wa_mask_name(WA_MASK_WRITE_ALLOW), "READ_WRITE_EXECUTE_DELETE");
  EXPECT_EQ(wa_mask_name(0x1), nullptr);
  EXPECT_EQ(WA_DESKTOP_ALL, 0x000f01ffu);
  EXPECT_EQ(WA_DESKTOP_PARTICIPANT, 0x000201ffu);
}

// A plan with every member the applier and the simulator read.
const char *const kPlan = R"({"schema": "csb.winacl.plan/v1", "backend": "elevated",
 "csb_home": "C:\\Users\\me\\.csb", "identity": {"kind": "offline"},
 "principals": {"group": {"sid": "S-1-5-21-1-2-3-1001"}, "offline": {"sid": null}},
 "capability_sids": {"file": "C:\\Users\\me\\.csb\\cap_sid", "status": "record",
   "entries": [{"slot": "workspace_by_cwd", "key": "c:/repo", "sid": null, "trustee": "cap:c:/repo"}]},
 "deny_read": {"state": {"file": "C:\\Users\\me\\.csb\\.sandbox\\deny_read_acl_state.json",
   "status": "ok", "recorded": ["C:\\repo\\old"], "revoke": ["C:\\repo\\old"]}},
 "mkdir": [{"path": "C:\\Users\\me\\.csb\\.sandbox", "for": "state"}],
 "aces": [{"path": "C:\\repo", "trustee": "group", "type": "allow", "mask": "0x001301bf",
   "source": "write_root", "inherit": "CI|OI"}],
 "audit": {"budget_ms": 2000, "max_checks": 5000, "max_entries_per_dir": 500,
   "deny_trustees": ["group"]},
 "write_roots": [{"path": "C:\\repo"}],
 "dir_locks": [{"path": "C:\\Users\\me\\.csb\\.sandbox", "protected": true,
   "aces": [{"trustee": "group", "type": "deny", "mask": "0x40130156"}]}],
 "firewall": [{"op": "ensure", "name": "csb_offline_block"}],
 "wfp": {"sublayer_weight": 32768, "filters": ["ale_connect_v4_tcp_53"]},
 "env": {"set": {"A": "1"}, "default": {}},
 "token": {"restricting_sids": ["group", "logon"], "default_dacl_generic_all": ["logon"]},
 "desktop": {"private": true, "name_prefix": "CsbSandboxDesktop-", "sddl": "D:P"},
 "setup_marker": {"file": "C:\\Users\\me\\.csb\\.sandbox\\setup_marker.json", "version": 1}})";

std::string PlanError(const std::string &text) {
  cJSON *plan = nullptr;
  csb_error err;
  csb_error_clear(&err);
  if (!csb_json_parse(text.data(), text.size(), &plan, &err)) return err.msg;
  int ok = wa_plan_check(plan, &err);
  cJSON_Delete(plan);
  return ok ? "" : err.msg;
}

// What the applier (elevated, on Windows) used without looking first: a
// plan missing it or holding another type is refused before anything is
// applied, naming the member.
TEST(PlanRead, MembersTheReadersUseHaveTheirTypes) {
  std::string plan = kPlan;
  EXPECT_EQ(PlanError(plan), "");
  struct Case {
    const char *from, *to, *error;
  } cases[] = {
      {"\"budget_ms\": 2000, ", "", "malformed plan: `audit.budget_ms` is missing"},
      {"\"deny_trustees\": [\"group\"]", "\"deny_trustees\": [\"group\", 5]",
       "malformed plan: `audit.deny_trustees[1]` is not a string"},
      {"\"principals\": {\"group\": {\"sid\": \"S-1-5-21-1-2-3-1001\"}, \"offline\": {\"sid\": null}}",
       "\"principals\": [\"group\"]", "malformed plan: `principals` is not an object"},
      {"\"status\": \"ok\", ", "", "malformed plan: `deny_read.state.status` is missing"},
      {"\"sublayer_weight\": 32768", "\"sublayer_weight\": \"x\"",
       "malformed plan: `wfp.sublayer_weight` is not a number"},
      {"\"restricting_sids\": [\"group\", \"logon\"]", "\"restricting_sids\": [null]",
       "malformed plan: `token.restricting_sids[0]` is not a string"},
      {"\"file\": \"C:\\\\Users\\\\me\\\\.csb\\\\cap_sid\", ", "",
       "malformed plan: `capability_sids.file` is missing"},
      {"\"slot\": \"workspace_by_cwd\", ", "", "malformed plan: `capability_sids.entries[0].slot` is missing"},
      {", \"trustee\": \"cap:c:/repo\"", "", "malformed plan: `capability_sids.entries[0].trustee` is missing"},
      {"\"sddl\": \"D:P\"", "\"sddl\": 1",
       "malformed plan: `desktop.sddl` is not a string"},
      {"\"mkdir\": [{\"path\": ", "\"mkdir\": [{\"p\": ", "malformed plan: `mkdir[0].path` is missing"},
      {"\"trustee\": \"group\", \"type\": \"deny\"", "\"type\": \"deny\"",
       "malformed plan: `dir_locks[0].aces[0].trustee` is missing"},
      {"\"schema\": \"csb.winacl.plan/v1\"", "\"schema\": \"csb.winacl.plan/v2\"",
       "not a csb.winacl.plan/v1 plan"},
      // Files and directories: normalised absolute Windows paths only (a
      // `..`, a `/` or a relative path led out of simulate's fs root).
      {"\"file\": \"C:\\\\Users\\\\me\\\\.csb\\\\cap_sid\"", "\"file\": \"cap_sid\"",
       "malformed plan: `capability_sids.file` is not a normalised absolute Windows path"},
      {"\"revoke\": [\"C:\\\\repo\\\\old\"]", "\"revoke\": [\"C:\\\\repo\\\\..\\\\old\"]",
       "malformed plan: `deny_read.state.revoke[0]` is not a normalised absolute Windows path"},
      {"\"write_roots\": [{\"path\": \"C:\\\\repo\"}]", "\"write_roots\": [{\"path\": \"C:/repo\"}]",
       "malformed plan: `write_roots[0].path` is not a normalised absolute Windows path"},
      {"\"setup_marker\": {\"file\": \"C:", "\"setup_marker\": {\"file\": \"c:",
       "malformed plan: `setup_marker.file` is not a normalised absolute Windows path"},
      {"\"csb_home\": \"C:\\\\Users\\\\me\\\\.csb\"", "\"csb_home\": \"C:\\\\Users\\\\me\\\\.csb\\\\\"",
       "malformed plan: `csb_home` is not a normalised absolute Windows path"},
      {"\"aces\": [{\"path\": \"C:\\\\repo\"", "\"aces\": [{\"path\": \"\\\\\\\\?\\\\C:\\\\repo\"",
       "malformed plan: `aces[0].path` is not a normalised absolute Windows path"},
      {"\"source\": \"write_root\"", "\"source\": \"null_device\"",
       "malformed plan: `aces[0].path` is not a normalised absolute Windows path"},
      {"\"inherit\": \"CI|OI\"", "\"inherit\": 1", "malformed plan: `aces[0].inherit` is not a string"},
  };
  for (const Case &c : cases) {
    std::string bad = plan;
    size_t at = bad.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    bad.replace(at, strlen(c.from), c.to);
    EXPECT_EQ(PlanError(bad), c.error) << c.from;
  }
  // Optional members may be missing or null; nothing below them is read.
  std::string nulls = plan;
  nulls.replace(nulls.find("\"state\": {"), 10, "\"state\": null, \"x\": {");
  EXPECT_EQ(PlanError(nulls), "");
  EXPECT_EQ(PlanError(R"({"schema": "csb.winacl.plan/v1", "backend": "unelevated",
                          "capability_sids": {"file": "C:\\h\\cap_sid", "status": "missing"}, "audit": null})"),
            "");
  EXPECT_NE(PlanError("[1]"), "");
  EXPECT_NE(PlanError("{"), "");
}

TEST(PlanRead, FuzzEntryOnSeedsAndMutations) {
  std::vector<std::string> seeds = {
      kPlan,
      R"({"schema": "csb.winacl.plan/v1", "backend": "unelevated", "capability_sids":
          {"file": "f", "status": "missing", "entries": []}, "audit": {"budget_ms": 1,
          "max_checks": 2, "max_entries_per_dir": 3, "deny_trustees": []}, "wfp": null})",
  };
  csbtest::MutateOptions o;
  o.rounds = 400;
  o.seed = 8;
  o.alphabet = "{}[]\":,n0\\ ";
  EXPECT_GT(csbtest::ForEachMutation(seeds, o, csb_fuzz_plan_one), 800u);
}

}  // namespace
