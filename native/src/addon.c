// lvsd's native addon. Placeholder: sdNotify only; AF_PACKET follows.
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <errno.h>

static napi_value SdNotify(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char msg[1024];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], msg, sizeof msg, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "sdNotify(msg: string)");
    return NULL;
  }
  napi_value result;
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) { napi_get_boolean(env, false, &result); return result; }
  struct sockaddr_un sa; memset(&sa, 0, sizeof sa); sa.sun_family = AF_UNIX;
  size_t plen = strlen(path);
  if (plen >= sizeof sa.sun_path) { napi_get_boolean(env, false, &result); return result; }
  memcpy(sa.sun_path, path, plen);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool ok = false;
  if (fd >= 0) {
    ok = sendto(fd, msg, len, 0, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen)) == (ssize_t)len;
    close(fd);
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sdNotify", NAPI_AUTO_LENGTH, SdNotify, NULL, &fn);
  napi_set_named_property(env, exports, "sdNotify", fn);
  return exports;
}
