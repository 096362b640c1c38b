/*
 * metalseed: the Node-API steps every addon here repeats (dhcp_batch.c, sockopt.c,
 * tftp_pump.c). Header only, `static inline`: each addon stays its own module with its own
 * NAPI_MODULE and links nothing more. Names start with nu_ (napi_ is Node-API's own prefix).
 */
#ifndef METALSEED_NAPI_UTIL_H
#define METALSEED_NAPI_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>
#include <uv.h>

/*
 * Throws an Error "<what>: <strerror(err)>" whose `code` is `code` (each addon chooses: an
 * errno name where JavaScript acts on it, its own code otherwise). Returns NULL, so a
 * callback can `return nu_throw_errno(...)`.
 */
static inline napi_value nu_throw_errno(napi_env env, const char *code, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/* The call's first `n` arguments into argv; false when there are fewer (or N-API failed). */
static inline bool nu_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= n;
}

/*
 * A call's single int32 argument (a reader or transfer id): true with *out set, or false
 * after throwing TypeError(usage).
 */
static inline bool nu_arg_int32(napi_env env, napi_callback_info info, int32_t *out, const char *usage) {
  napi_value argv[1];
  if (!nu_args(env, info, 1, argv) || napi_get_value_int32(env, argv[0], out) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/*
 * The bytes of a typed array of type `want`: 1 with *data and *len set, 0 when `v` is null or
 * undefined, -1 when it is anything else (the caller throws its TypeError, which names the
 * argument).
 */
static inline int nu_typed_array_or_null(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                                         size_t *len) {
  napi_valuetype vt;
  if (napi_typeof(env, v, &vt) != napi_ok) return -1;
  if (vt == napi_null || vt == napi_undefined) return 0;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) != napi_ok || tt != want) return -1;
  return 1;
}

/* The bytes of a typed array of type `want`; false when `v` is not one (null included). */
static inline bool nu_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  return nu_typed_array_or_null(env, v, want, data, len) == 1;
}

/*
 * Keeps a JavaScript callback for later calls from the event loop: a strong reference and an
 * async context named `resource` (async_hooks and AsyncLocalStorage see the calls as one
 * resource's). napi_ok, or the failure with nothing kept.
 */
static inline napi_status nu_keep_callback(napi_env env, napi_value fn, const char *resource, napi_ref *ref,
                                           napi_async_context *ctx) {
  napi_value name;
  napi_status st = napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name);
  if (st != napi_ok) return st;
  st = napi_create_reference(env, fn, 1, ref);
  if (st != napi_ok) return st;
  st = napi_async_init(env, NULL, name, ctx);
  if (st != napi_ok) napi_delete_reference(env, *ref);
  return st;
}

/* Lets go of what nu_keep_callback kept. */
static inline void nu_drop_callback(napi_env env, napi_ref ref, napi_async_context ctx) {
  napi_delete_reference(env, ref);
  napi_async_destroy(env, ctx);
}

/*
 * Calls a kept callback from a libuv callback (inside a handle scope the caller opened) with
 * napi_make_callback, so microtasks and nextTicks run when it returns, as after any of Node's
 * own callbacks. An exception it throws becomes an uncaught exception (the process's
 * 'uncaughtException', like any other callback's) and napi_pending_exception is returned;
 * napi_ok when it returned normally; another status when it could not be called.
 */
static inline napi_status nu_callback(napi_env env, napi_ref ref, napi_async_context ctx, size_t argc,
                                      const napi_value *argv) {
  napi_value fn, recv, result;
  napi_status st = napi_get_reference_value(env, ref, &fn);
  if (st == napi_ok) st = napi_get_global(env, &recv); /* napi_make_callback wants an object receiver */
  if (st != napi_ok) return st;
  st = napi_make_callback(env, ctx, recv, fn, argc, argv, &result);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
    return napi_pending_exception;
  }
  return st;
}

/* The event loop of `env`; NULL after throwing Error(message). */
static inline uv_loop_t *nu_event_loop(napi_env env, const char *message) {
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  return loop;
}

/* An int32 as a JavaScript number (the ids and counts returned to callers). */
static inline napi_value nu_int32(napi_env env, int32_t v) {
  napi_value out = NULL;
  napi_create_int32(env, v, &out);
  return out;
}

/* exports[name] = a function calling `cb` (writable and enumerable, as a plain assignment). */
static inline void nu_export(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

#endif
