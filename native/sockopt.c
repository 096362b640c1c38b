/*
 * metalseed native socket options.
 *
 * Node's dgram has no SO_BINDTODEVICE (socket(7)). A DHCP server on a multi-homed seed must
 * receive broadcasts only from its provisioning link and send replies out of that link, even
 * when the default route points elsewhere; a socket bound to the interface's address receives
 * no broadcasts at all, and one bound to 0.0.0.0 cannot tell the links apart. Binding the
 * wildcard socket to the device solves both (RFC 2131 section 4.1 replies to 255.255.255.255).
 *
 * Exports: bindToDevice(fd: number, ifname: string): void  (throws Error with errno text)
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM ? "EPERM" : "ESOCKOPT", msg);
  return NULL;
}

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "bindToDevice(fd, ifname) needs two arguments");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], ifname, sizeof ifname, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "ifname must be a string");
    return NULL;
  }
  if (len == 0 || len >= IF_NAMESIZE) {
    napi_throw_range_error(env, NULL, "ifname must be 1..15 characters (IFNAMSIZ)");
    return NULL;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)len + 1) != 0)
    return throw_errno(env, "setsockopt(SO_BINDTODEVICE)", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn);
  napi_set_named_property(env, exports, "bindToDevice", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
