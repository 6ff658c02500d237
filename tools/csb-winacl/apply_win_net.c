/* apply_win_net.c - the offline identity's network: Windows Firewall rules
 * through INetFwPolicy2 / INetFwRule3 (COM), each scoped to the offline
 * user with LocalUserAuthorizedList and verified after writing, and the
 * WFP block filters (best effort, as upstream: failures are warnings). */
#define COBJMACROS
#include "apply.h"

#if defined(_WIN32)

#include <windows.h> /* first: the other Win32 headers need it */
#include <fwpmu.h>
#include <initguid.h> /* netfw.h's CLSIDs and IIDs are defined here */
#include <netfw.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_win.h"

/* Values mingw-w64's headers lack (netfw.h, fwpmtypes.h). */
#ifndef NET_FW_IP_PROTOCOL_ANY
#define NET_FW_IP_PROTOCOL_ANY ((NET_FW_IP_PROTOCOL)256)
#endif
#ifndef FWPM_PROVIDER_FLAG_PERSISTENT
#define FWPM_PROVIDER_FLAG_PERSISTENT 0x00000001
#endif
#ifndef FWPM_SUBLAYER_FLAG_PERSISTENT
#define FWPM_SUBLAYER_FLAG_PERSISTENT 0x00000001
#endif
#ifndef FWPM_FILTER_FLAG_PERSISTENT
#define FWPM_FILTER_FLAG_PERSISTENT 0x00000001
#endif
#include "csb_cli.h"
#include "csb_json.h"

/* ---- firewall ------------------------------------------------------------ */

static BSTR bstr(const char *s) {
  wchar_t *w = wa_wide(s);
  BSTR b = SysAllocString(w);
  free(w);
  return b;
}

static char *user_sddl(applier *A) {
  char *sid = wa_sid_string(wa_principal_sid(A, "offline"));
  char *s = csb_xasprintf("O:LSD:(A;;CC;;;%s)", sid);
  free(sid);
  return s;
}

static NET_FW_IP_PROTOCOL protocol_of(const char *p) {
  if (p && strcmp(p, "TCP") == 0) return NET_FW_IP_PROTOCOL_TCP;
  if (p && strcmp(p, "UDP") == 0) return NET_FW_IP_PROTOCOL_UDP;
  return NET_FW_IP_PROTOCOL_ANY;
}

static int fw_fail(applier *A, const char *what, const char *name, HRESULT hr) {
  return wa_fail(A, CSB_EXIT_OSERR,
                 "%s failed for firewall rule %s: 0x%08lx (backend: elevated; fix: check that the "
                 "Windows Firewall service runs, then apply again from an elevated prompt)",
                 what, name, (unsigned long)hr) == 0;
}

/* Writes every field of an offline block rule (re-applied on each run). */
static int fill_rule(applier *A, INetFwRule3 *r, const cJSON *spec) {
  const char *name = wa_str(spec, "name");
  HRESULT hr;
  BSTR b;
  NET_FW_IP_PROTOCOL proto = protocol_of(wa_str(spec, "protocol"));
  b = bstr(wa_str(spec, "friendly_name") ? wa_str(spec, "friendly_name") : name);
  hr = INetFwRule3_put_Description(r, b);
  SysFreeString(b);
  if (SUCCEEDED(hr)) hr = INetFwRule3_put_Protocol(r, (LONG)proto);
  if (SUCCEEDED(hr)) {
    b = bstr(wa_str(spec, "remote_addresses"));
    hr = INetFwRule3_put_RemoteAddresses(r, b);
    SysFreeString(b);
  }
  if (SUCCEEDED(hr) && proto != NET_FW_IP_PROTOCOL_ANY) {
    b = bstr(wa_str(spec, "remote_ports"));
    hr = INetFwRule3_put_RemotePorts(r, b);
    SysFreeString(b);
  }
  if (SUCCEEDED(hr)) hr = INetFwRule3_put_Direction(r, NET_FW_RULE_DIR_OUT);
  if (SUCCEEDED(hr)) hr = INetFwRule3_put_Action(r, NET_FW_ACTION_BLOCK);
  if (SUCCEEDED(hr)) hr = INetFwRule3_put_Enabled(r, VARIANT_TRUE);
  if (SUCCEEDED(hr)) hr = INetFwRule3_put_Profiles(r, NET_FW_PROFILE2_ALL);
  if (SUCCEEDED(hr)) {
    char *sddl = user_sddl(A);
    b = bstr(sddl);
    hr = INetFwRule3_put_LocalUserAuthorizedList(r, b);
    SysFreeString(b);
    free(sddl);
  }
  if (FAILED(hr)) return fw_fail(A, "writing the fields", name, hr);
  return 1;
}

static int verify_scope(applier *A, INetFwRule3 *r, const char *name) {
  BSTR got = NULL;
  HRESULT hr = INetFwRule3_get_LocalUserAuthorizedList(r, &got);
  if (FAILED(hr)) return fw_fail(A, "reading LocalUserAuthorizedList", name, hr);
  char *g = got ? wa_utf8(got) : csb_xstrdup("");
  SysFreeString(got);
  char *sid = wa_sid_string(wa_principal_sid(A, "offline"));
  int ok = strstr(g, sid) != NULL;
  if (!ok)
    wa_fail(A, CSB_EXIT_OSERR, "offline firewall rule user scope mismatch: expected SID %s, got %s",
            sid, g);
  free(g);
  free(sid);
  return ok;
}

static HRESULT find_rule(INetFwRules *rules, const char *name, INetFwRule3 **out) {
  *out = NULL;
  INetFwRule *r = NULL;
  BSTR b = bstr(name);
  HRESULT hr = INetFwRules_Item(rules, b, &r);
  SysFreeString(b);
  if (FAILED(hr)) return hr;
  hr = INetFwRule_QueryInterface(r, &IID_INetFwRule3, (void **)out);
  INetFwRule_Release(r);
  return hr;
}

static int ensure_rule(applier *A, INetFwRules *rules, const cJSON *spec) {
  const char *name = wa_str(spec, "name");
  INetFwRule3 *r = NULL;
  int created = 0;
  HRESULT hr = find_rule(rules, name, &r);
  if (FAILED(hr)) {
    hr = CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule3, (void **)&r);
    if (FAILED(hr)) return fw_fail(A, "CoCreateInstance(NetFwRule)", name, hr);
    BSTR b = bstr(name);
    hr = INetFwRule3_put_Name(r, b);
    SysFreeString(b);
    if (FAILED(hr)) {
      INetFwRule3_Release(r);
      return fw_fail(A, "naming", name, hr);
    }
    created = 1;
  }
  int ok = fill_rule(A, r, spec);
  if (ok && created) {
    hr = INetFwRules_Add(rules, (INetFwRule *)r);
    if (FAILED(hr)) {
      ok = fw_fail(A, "INetFwRules::Add", name, hr);
    } else {
      wa_undo u = {0};
      u.kind = WA_UNDO_FW_RULE;
      u.path = wa_wide(name);
      wa_journal(A, u);
    }
  }
  INetFwRule3_Release(r);
  if (ok) {
    /* Read the rule back from the policy and check its user scope. */
    hr = find_rule(rules, name, &r);
    if (FAILED(hr)) return fw_fail(A, "re-reading", name, hr);
    ok = verify_scope(A, r, name);
    INetFwRule3_Release(r);
  }
  return ok;
}

static int with_rules(applier *A, INetFwPolicy2 **pol, INetFwRules **rules) {
  HRESULT hr = CoCreateInstance(&CLSID_NetFwPolicy2, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwPolicy2,
                                (void **)pol);
  if (FAILED(hr)) return fw_fail(A, "CoCreateInstance(NetFwPolicy2)", "(policy)", hr);
  hr = INetFwPolicy2_get_Rules(*pol, rules);
  if (FAILED(hr)) {
    INetFwPolicy2_Release(*pol);
    return fw_fail(A, "INetFwPolicy2::get_Rules", "(policy)", hr);
  }
  return 1;
}

void wa_undo_fw_rule(applier *A, const wa_undo *u) {
  (void)A;
  INetFwPolicy2 *pol = NULL;
  INetFwRules *rules = NULL;
  if (FAILED(CoCreateInstance(&CLSID_NetFwPolicy2, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwPolicy2,
                              (void **)&pol)))
    return;
  if (SUCCEEDED(INetFwPolicy2_get_Rules(pol, &rules))) {
    BSTR b = SysAllocString(u->path);
    INetFwRules_Remove(rules, b);
    SysFreeString(b);
    INetFwRules_Release(rules);
  }
  INetFwPolicy2_Release(pol);
}

int wa_firewall(applier *A) {
  if (!A->com_ready)
    return wa_fail(A, CSB_EXIT_OSERR, "COM could not be initialised for the firewall") == 0;
  if (wa_principal_sid(A, "offline") == NULL)
    return wa_fail(A, CSB_EXIT_INTERNAL, "no SID for the offline user") == 0;
  INetFwPolicy2 *pol = NULL;
  INetFwRules *rules = NULL;
  if (!with_rules(A, &pol, &rules)) return 0;
  int ok = 1;
  const cJSON *fw = cJSON_GetObjectItemCaseSensitive(A->plan, "firewall");
  /* In plan order: loopback blocks first, the legacy allow rule removed,
   * the TCP block narrowed, the outbound block last (fail closed midway). */
  for (const cJSON *r = fw ? fw->child : NULL; ok && r; r = r->next) {
    const char *op = wa_str(r, "op"), *name = wa_str(r, "name");
    if (op == NULL || name == NULL) {
      ok = wa_fail(A, CSB_EXIT_DATA, "malformed firewall step in the plan") == 0;
    } else if (strcmp(op, "ensure") == 0) {
      ok = ensure_rule(A, rules, r);
    } else if (strcmp(op, "remove") == 0) {
      BSTR b = bstr(name);
      INetFwRules_Remove(rules, b); /* absent is fine */
      SysFreeString(b);
    } else if (strcmp(op, "narrow") == 0) {
      INetFwRule3 *rule = NULL;
      HRESULT hr = find_rule(rules, name, &rule);
      if (FAILED(hr)) {
        ok = fw_fail(A, "finding", name, hr);
      } else {
        BSTR b = bstr(wa_str(r, "remote_ports"));
        hr = INetFwRule3_put_RemotePorts(rule, b);
        SysFreeString(b);
        INetFwRule3_Release(rule);
        if (FAILED(hr)) ok = fw_fail(A, "narrowing the ports of", name, hr);
      }
    } else {
      ok = wa_fail(A, CSB_EXIT_DATA, "unknown firewall step `%s` in the plan", op) == 0;
    }
  }
  INetFwRules_Release(rules);
  INetFwPolicy2_Release(pol);
  return ok;
}

/* ---- WFP ------------------------------------------------------------------ */

/* Layer and condition keys (fwpmu.h values, not in mingw-w64's headers). */
static const GUID kLayerConnectV4 = {0xc38d57d1, 0x05a7, 0x4c33, {0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82}};
static const GUID kLayerConnectV6 = {0x4a72393b, 0x319f, 0x44bc, {0x84, 0xc3, 0xba, 0x54, 0xdc, 0xb3, 0xb6, 0xb4}};
static const GUID kLayerAssignV4 = {0x1247d66d, 0x0b60, 0x4a15, {0x8d, 0x44, 0x71, 0x55, 0xd0, 0xf5, 0x3a, 0x0c}};
static const GUID kLayerAssignV6 = {0x55a650e1, 0x5f0a, 0x4eca, {0xa6, 0x53, 0x88, 0xf5, 0x3b, 0x26, 0xaa, 0x8c}};
static const GUID kCondUserId = {0xaf043a0a, 0xb34d, 0x4f86, {0x97, 0x9c, 0xc9, 0x03, 0x71, 0xaf, 0x6e, 0x66}};
static const GUID kCondProtocol = {0x3971ef2b, 0x623e, 0x4f9a, {0x8c, 0xb1, 0x6e, 0x79, 0xb8, 0x06, 0xb9, 0xa7}};
static const GUID kCondRemotePort = {0xc35a604d, 0xd22b, 0x4e1a, {0x91, 0xb4, 0x68, 0xf6, 0x74, 0xee, 0x67, 0x4b}};

static int parse_guid(const char *s, GUID *g) {
  wchar_t buf[64];
  char *b = csb_xasprintf("{%s}", s);
  MultiByteToWideChar(CP_UTF8, 0, b, -1, buf, 64);
  free(b);
  return CLSIDFromString(buf, g) == NOERROR;
}

static int wfp_filter_spec(const char *spec, const GUID **layer, int *protocol, int *port) {
  *protocol = -1;
  *port = -1;
  if (strncmp(spec, "ALE_AUTH_CONNECT_V4 ", 20) == 0)
    *layer = &kLayerConnectV4;
  else if (strncmp(spec, "ALE_AUTH_CONNECT_V6 ", 20) == 0)
    *layer = &kLayerConnectV6;
  else if (strncmp(spec, "ALE_RESOURCE_ASSIGNMENT_V4 ", 27) == 0)
    *layer = &kLayerAssignV4;
  else if (strncmp(spec, "ALE_RESOURCE_ASSIGNMENT_V6 ", 27) == 0)
    *layer = &kLayerAssignV6;
  else
    return 0;
  const char *p = strchr(spec, ' ') + 1;
  if (strcmp(p, "protocol=ICMP") == 0)
    *protocol = 1;
  else if (strcmp(p, "protocol=ICMPV6") == 0)
    *protocol = 58;
  else if (strncmp(p, "remote_port=", 12) == 0)
    *port = atoi(p + 12);
  else
    return 0;
  return 1;
}

void wa_wfp(applier *A) {
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(A->plan, "wfp");
  if (!cJSON_IsObject(w)) return;
  GUID provider, sublayer;
  if (!parse_guid(wa_str(w, "provider"), &provider) || !parse_guid(wa_str(w, "sublayer"), &sublayer)) {
    wa_warn(A, "WFP: bad provider or sublayer key in the plan");
    return;
  }
  char *sddl = user_sddl(A);
  wchar_t *wsddl = wa_wide(sddl);
  free(sddl);
  PSECURITY_DESCRIPTOR sd = NULL;
  ULONG sdlen = 0;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, &sdlen)) {
    wa_warn(A, "WFP: cannot build the user condition: %lu", GetLastError());
    free(wsddl);
    return;
  }
  free(wsddl);
  HANDLE engine = NULL;
  FWPM_SESSION0 session;
  memset(&session, 0, sizeof session);
  DWORD e = FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &session, &engine);
  if (e != ERROR_SUCCESS) {
    wa_warn(A, "WFP: FwpmEngineOpen0 failed: %lu (the firewall rules still apply)", e);
    LocalFree(sd);
    return;
  }
  e = FwpmTransactionBegin0(engine, 0);
  FWPM_PROVIDER0 prov;
  memset(&prov, 0, sizeof prov);
  prov.providerKey = provider;
  prov.displayData.name = L"csb sandbox";
  prov.flags = FWPM_PROVIDER_FLAG_PERSISTENT;
  if (e == ERROR_SUCCESS) {
    e = FwpmProviderAdd0(engine, &prov, NULL);
    if (e == (DWORD)FWP_E_ALREADY_EXISTS) e = ERROR_SUCCESS;
  }
  FWPM_SUBLAYER0 sub;
  memset(&sub, 0, sizeof sub);
  sub.subLayerKey = sublayer;
  sub.displayData.name = L"csb sandbox offline user";
  sub.flags = FWPM_SUBLAYER_FLAG_PERSISTENT;
  sub.providerKey = &provider;
  sub.weight = (UINT16)cJSON_GetObjectItemCaseSensitive(w, "sublayer_weight")->valuedouble;
  if (e == ERROR_SUCCESS) {
    e = FwpmSubLayerAdd0(engine, &sub, NULL);
    if (e == (DWORD)FWP_E_ALREADY_EXISTS) e = ERROR_SUCCESS;
  }
  int index = 0;
  const cJSON *filters = cJSON_GetObjectItemCaseSensitive(w, "filters");
  for (const cJSON *f = filters ? filters->child : NULL; e == ERROR_SUCCESS && f; f = f->next, index++) {
    const GUID *layer;
    int protocol, port;
    if (!cJSON_IsString(f) || !wfp_filter_spec(f->valuestring, &layer, &protocol, &port)) {
      wa_warn(A, "WFP: unknown filter `%s` in the plan", cJSON_IsString(f) ? f->valuestring : "?");
      continue;
    }
    /* Stable key per filter: the provider key with the index folded in. */
    GUID key = provider;
    key.Data4[7] = (unsigned char)(key.Data4[7] ^ (unsigned char)(index + 1));
    FwpmFilterDeleteByKey0(engine, &key);
    FWP_BYTE_BLOB blob = {sdlen, (UINT8 *)sd};
    FWPM_FILTER_CONDITION0 cond[2];
    memset(cond, 0, sizeof cond);
    cond[0].fieldKey = kCondUserId;
    cond[0].matchType = FWP_MATCH_EQUAL;
    cond[0].conditionValue.type = FWP_SECURITY_DESCRIPTOR_TYPE;
    cond[0].conditionValue.sd = &blob;
    if (protocol >= 0) {
      cond[1].fieldKey = kCondProtocol;
      cond[1].matchType = FWP_MATCH_EQUAL;
      cond[1].conditionValue.type = FWP_UINT8;
      cond[1].conditionValue.uint8 = (UINT8)protocol;
    } else {
      cond[1].fieldKey = kCondRemotePort;
      cond[1].matchType = FWP_MATCH_EQUAL;
      cond[1].conditionValue.type = FWP_UINT16;
      cond[1].conditionValue.uint16 = (UINT16)port;
    }
    FWPM_FILTER0 flt;
    memset(&flt, 0, sizeof flt);
    flt.filterKey = key;
    flt.displayData.name = L"csb sandbox offline block";
    flt.flags = FWPM_FILTER_FLAG_PERSISTENT;
    flt.providerKey = &provider;
    flt.layerKey = *layer;
    flt.subLayerKey = sublayer;
    flt.weight.type = FWP_EMPTY;
    flt.numFilterConditions = 2;
    flt.filterCondition = cond;
    flt.action.type = FWP_ACTION_BLOCK;
    e = FwpmFilterAdd0(engine, &flt, NULL, NULL);
    if (e != ERROR_SUCCESS) wa_warn(A, "WFP: adding `%s` failed: %lu", f->valuestring, e);
  }
  if (e == ERROR_SUCCESS) {
    e = FwpmTransactionCommit0(engine);
    if (e != ERROR_SUCCESS) wa_warn(A, "WFP: commit failed: %lu", e);
  } else {
    FwpmTransactionAbort0(engine);
    wa_warn(A, "WFP filters not installed (%lu); the firewall rules still apply", e);
  }
  FwpmEngineClose0(engine);
  LocalFree(sd);
}

#else
typedef int csb_winacl_apply_win_net_unused;
#endif /* _WIN32 */
