// lvsd's native addon (ARCHITECTURE D3): AF_PACKET sockets with batched I/O, uv_poll
// watching, a TPACKET_V3 receive ring, interface lookups, per-thread netns entry and
// sd_notify. No packet logic lives here: it moves bytes between the kernel and buffers the
// JavaScript side owns. The API is documented in docs/native.md; the typed wrapper is
// src/io/af-packet.ts.
//
// Rules kept throughout:
//  - no global mutable state: per-thread state lives in napi instance data, per-socket
//    state in the wrapped Sock, so the addon works in worker threads;
//  - no allocation per recv()/send(): the mmsghdr/iovec arrays are built once when the
//    caller hands its buffers in (setRxBuffers / setTxBuffers / setRingArrays);
//  - the hot calls never throw for kernel conditions (EAGAIN, EINTR, ENOBUFS, ENETDOWN...):
//    they return a count and leave the errno in `lastErrno`;
//  - bad arguments throw TypeError/RangeError with a code (ERR_NATIVE_INVALID_ARG,
//    ERR_NATIVE_OUT_OF_RANGE), failed setup syscalls throw Error ERR_NATIVE_SYSCALL with
//    errno, errnoName and syscall properties.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define CTRL_LEN 64 /* room for one PACKET_AUXDATA cmsg */
#define META_STRIDE 4
#define META_TRUNCATED 0x80000000u
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
#define FANOUT_IGNORE_OUTGOING 0x4000u /* PACKET_FANOUT_FLAG_IGNORE_OUTGOING, linux/if_packet.h of 6.9+ */

// ───────────────────────────── helpers ─────────────────────────────

#define NAPI_OK(call)                                                              \
  do {                                                                             \
    if ((call) != napi_ok) return NULL;                                            \
  } while (0)

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_NATIVE_INVALID_ARG", msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_NATIVE_OUT_OF_RANGE", msg);
  return NULL;
}

static napi_value throw_sys(napi_env env, const char *syscall, int err) {
  char msg[256];
  const char *name = uv_err_name(uv_translate_sys_error(err));
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, strerror(err), name);
  napi_value m, c, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, "ERR_NATIVE_SYSCALL", NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "errnoName", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_throw(env, e);
  return NULL;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// Reads an unsigned 32-bit integer argument; throws ERR_NATIVE_INVALID_ARG otherwise.
static bool get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  napi_valuetype t;
  double d;
  char msg[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
    snprintf(msg, sizeof msg, "%s must be an unsigned 32-bit integer", what);
    throw_type(env, msg);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

// Optional property of an options object: absent/undefined leaves *out untouched.
static bool opt_u32(napi_env env, napi_value obj, const char *key, uint32_t *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  char what[64];
  snprintf(what, sizeof what, "options.%s", key);
  return get_u32(env, v, what, out);
}

static bool opt_bool(napi_env env, napi_value obj, const char *key, bool *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return true;
  if (t != napi_boolean) {
    char msg[96];
    snprintf(msg, sizeof msg, "options.%s must be a boolean", key);
    throw_type(env, msg);
    return false;
  }
  return napi_get_value_bool(env, v, out) == napi_ok;
}

// Optional object-valued property; *present false when absent/undefined.
static bool opt_obj(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present) {
  bool has = false;
  napi_valuetype t;
  *present = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return false;
  napi_typeof(env, *out, &t);
  if (t == napi_undefined) return true;
  if (t != napi_object) {
    char msg[96];
    snprintf(msg, sizeof msg, "options.%s must be an object", key);
    throw_type(env, msg);
    return false;
  }
  *present = true;
  return true;
}

// A Uint8Array (Buffer included): data pointer and byte length.
static bool get_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  bool is = false;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  void *p;
  char msg[160];
  if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
      napi_get_typedarray_info(env, v, &tt, len, &p, &ab, &off) == napi_ok && tt == napi_uint8_array) {
    *data = p;
    return true;
  }
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  throw_type(env, msg);
  return false;
}

// A Uint32Array: data pointer and element count.
static bool get_u32s(napi_env env, napi_value v, const char *what, uint32_t **data, size_t *count) {
  bool is = false;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  void *p;
  char msg[160];
  if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
      napi_get_typedarray_info(env, v, &tt, count, &p, &ab, &off) == napi_ok && tt == napi_uint32_array) {
    *data = p;
    return true;
  }
  snprintf(msg, sizeof msg, "%s must be a Uint32Array", what);
  throw_type(env, msg);
  return false;
}

static void set_ref(napi_env env, napi_ref *slot, napi_value v) {
  if (*slot) napi_delete_reference(env, *slot);
  *slot = NULL;
  if (v) napi_create_reference(env, v, 1, slot);
}

static void drop_ref(napi_env env, napi_ref *slot) {
  if (*slot) napi_delete_reference(env, *slot);
  *slot = NULL;
}

// ───────────────────────────── per-thread state ─────────────────────────────

typedef struct {
  napi_ref ctor;
  int origNetns; // this thread's netns before the first setNetns(); -1 until then
} EnvData;

static void env_data_free(napi_env env, void *data, void *hint) {
  EnvData *d = data;
  if (d->origNetns >= 0) close(d->origNetns);
  if (d->ctor) napi_delete_reference(env, d->ctor);
  free(d);
}

// ───────────────────────────── socket state ─────────────────────────────

typedef struct {
  napi_env env;
  int fd;
  uint32_t ifindex;
  bool vnet;
  bool auxdata;
  int lastErrno;
  napi_async_cleanup_hook_handle hook;

  // recvmmsg
  struct mmsghdr *rxMsgs;
  struct iovec *rxIov;
  struct sockaddr_ll *rxAddr;
  uint8_t *rxCtrl;
  uint32_t rxN;
  uint32_t *rxLen;
  uint32_t *rxMeta;
  napi_ref rxRefs[3];

  // sendmmsg
  struct mmsghdr *txMsgs;
  struct iovec *txIov;
  uint32_t txN;
  uint8_t *txBuf;
  size_t txBufLen;
  uint32_t *txOff;
  uint32_t *txLen;
  napi_ref txRefs[3];

  // receive ring: TPACKET_V3 (blocks) or TPACKET_V2 (per-frame status)
  uint8_t *ring;
  size_t ringSize;
  uint32_t ringVersion;
  uint32_t blockSize, blockCount, curBlock;
  bool blockHeld;
  uint32_t frameSize, frameCount, framesPerBlock, curFrame, heldCount; // V2

  // TPACKET_V2 transmit ring (mapped right after the receive ring, when there is one)
  uint8_t *txRing;
  size_t txRingSize;
  uint32_t txFrameSize, txFrameCount, txCur;
  int fdBig; // with a transmit ring: a plain send-only socket for frames larger than a ring frame
  uint32_t framesLeft;
  uint8_t *nextFrame;
  napi_ref ringAb;
  uint32_t *rgOff, *rgLen, *rgMeta;
  uint32_t rgN;
  napi_ref rgRefs[3];

  // uv_poll watching
  uv_poll_t *poll;
  bool polling;
  napi_ref cb;
  napi_ref self;
  bool selfHeld;
  napi_async_context actx;
  bool inCallback; // close() from inside onReadable defers napi_async_destroy until it returns
} Sock;

static void poll_closed(uv_handle_t *h) {
  // data is the async cleanup hook handle when the environment is being torn down.
  napi_async_cleanup_hook_handle hook = h->data;
  free(h);
  if (hook) napi_remove_async_cleanup_hook(hook);
}

// Releases the kernel side (poll, fd, unshared ring). Safe during environment teardown:
// no JavaScript values are touched. `teardownHook` is removed once the poll handle closed.
static void sock_release_os(Sock *s, napi_async_cleanup_hook_handle teardownHook) {
  bool hookPending = teardownHook != NULL;
  if (s->poll) {
    uv_poll_stop(s->poll);
    s->poll->data = teardownHook;
    uv_close((uv_handle_t *)s->poll, poll_closed);
    s->poll = NULL;
    s->polling = false;
    hookPending = false;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (s->txRing) munmap(s->txRing, s->txRingSize);
  s->txRing = NULL;
  if (s->fdBig >= 0) close(s->fdBig);
  s->fdBig = -1;
  if (s->ring && !s->ringAb) munmap(s->ring, s->ringSize);
  if (s->ring && s->ringAb) {
    /* the external ArrayBuffer's finalizer unmaps it once nothing in JS can see it */
  }
  s->ring = NULL;
  if (hookPending) napi_remove_async_cleanup_hook(teardownHook);
}

static void sock_teardown_hook(napi_async_cleanup_hook_handle handle, void *arg) {
  Sock *s = arg;
  s->hook = NULL;
  sock_release_os(s, handle);
}

static void free_arrays(Sock *s) {
  free(s->rxMsgs); free(s->rxIov); free(s->rxAddr); free(s->rxCtrl);
  s->rxMsgs = NULL; s->rxIov = NULL; s->rxAddr = NULL; s->rxCtrl = NULL; s->rxN = 0;
  free(s->txMsgs); free(s->txIov);
  s->txMsgs = NULL; s->txIov = NULL; s->txN = 0;
  s->rgN = 0;
}

// Full close from JavaScript (or from the GC finalizer of a socket never closed).
static void sock_close(napi_env env, Sock *s) {
  if (s->hook) {
    napi_remove_async_cleanup_hook(s->hook);
    s->hook = NULL;
  }
  sock_release_os(s, NULL);
  if (s->selfHeld) {
    uint32_t rc;
    napi_reference_unref(env, s->self, &rc);
    s->selfHeld = false;
  }
  drop_ref(env, &s->cb);
  for (int i = 0; i < 3; i++) {
    drop_ref(env, &s->rxRefs[i]);
    drop_ref(env, &s->txRefs[i]);
    drop_ref(env, &s->rgRefs[i]);
  }
  drop_ref(env, &s->ringAb);
  free_arrays(s);
}

static void sock_finalize(napi_env env, void *data, void *hint) {
  Sock *s = data;
  sock_close(env, s);
  drop_ref(env, &s->self);
  // actx is left alone here: destroying async contexts from a GC finalizer is not allowed.
  free(s);
}

static Sock *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *thisArg) {
  napi_value self;
  void *p = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &p) != napi_ok || !p) {
    throw_type(env, "receiver is not a PacketSocket");
    return NULL;
  }
  if (thisArg) *thisArg = self;
  return p;
}

// ───────────────────────────── constructor ─────────────────────────────

static int fanout_mode(const char *m) {
  if (!strcmp(m, "hash")) return PACKET_FANOUT_HASH;
  if (!strcmp(m, "lb")) return PACKET_FANOUT_LB;
  if (!strcmp(m, "cpu")) return PACKET_FANOUT_CPU;
  if (!strcmp(m, "rollover")) return PACKET_FANOUT_ROLLOVER;
  if (!strcmp(m, "random")) return PACKET_FANOUT_RND;
  if (!strcmp(m, "qm")) return PACKET_FANOUT_QM;
  if (!strcmp(m, "cbpf")) return PACKET_FANOUT_CBPF;
  return -1;
}

static int membership(int fd, uint32_t ifindex, int add, int type, const uint8_t *mac) {
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)ifindex;
  mr.mr_type = (unsigned short)type;
  if (mac) {
    mr.mr_alen = 6;
    memcpy(mr.mr_address, mac, 6);
  }
  return setsockopt(fd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr, sizeof mr);
}

// new PacketSocket(ifindex, options?)
static napi_value SockNew(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self, target;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  NAPI_OK(napi_get_new_target(env, info, &target));
  if (!target) return throw_type(env, "PacketSocket must be called with new");
  uint32_t ifindex = 0;
  if (argc < 1 || !get_u32(env, argv[0], "ifindex", &ifindex)) return NULL;
  if (ifindex == 0) return throw_range(env, "ifindex must be > 0");

  uint32_t protocol = ETH_P_ALL, rcvbuf = 0, sndbuf = 0;
  bool ignoreOutgoing = true, promisc = false, vnet = false, auxdata = false, qdiscBypass = false;
  bool hasFanout = false, hasRing = false, hasTx = false;
  uint32_t txFrames = 512, txFrameSize = 2048;
  uint32_t fanoutGroup = 0, blockSize = 1u << 20, blockCount = 32, retireMs = 2;
  uint32_t ringVersion = 3, frameSize = 0, frameCount = 128;
  bool rollover = false;
  int fmode = PACKET_FANOUT_HASH;
  napi_value opts, fo, rg, tr;
  if (argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) {
      if (t != napi_object) return throw_type(env, "options must be an object");
      opts = argv[1];
      if (!opt_u32(env, opts, "protocol", &protocol) || !opt_u32(env, opts, "rcvbuf", &rcvbuf) ||
          !opt_u32(env, opts, "sndbuf", &sndbuf) || !opt_bool(env, opts, "ignoreOutgoing", &ignoreOutgoing) ||
          !opt_bool(env, opts, "promisc", &promisc) || !opt_bool(env, opts, "vnetHdr", &vnet) ||
          !opt_bool(env, opts, "auxdata", &auxdata) || !opt_bool(env, opts, "qdiscBypass", &qdiscBypass) ||
          !opt_obj(env, opts, "fanout", &fo, &hasFanout) ||
          !opt_obj(env, opts, "ring", &rg, &hasRing) || !opt_obj(env, opts, "txRing", &tr, &hasTx))
        return NULL;
      if (hasTx) {
        if (!opt_u32(env, tr, "frameCount", &txFrames) || !opt_u32(env, tr, "frameSize", &txFrameSize)) return NULL;
        if (txFrameSize < 2048 || (txFrameSize & 2047) || txFrameSize > 65536) return throw_range(env, "options.txRing.frameSize must be a multiple of 2048 up to 64 KiB");
        if (txFrames < 2 || txFrames > 65536 || (txFrames & 1)) return throw_range(env, "options.txRing.frameCount must be even, 2..65536");
      }
      if (protocol > 0xffff) return throw_range(env, "options.protocol must be an ethertype (0..65535)");
      if (hasFanout) {
        napi_value mv;
        if (!opt_u32(env, fo, "group", &fanoutGroup) || !opt_bool(env, fo, "rollover", &rollover)) return NULL;
        if (fanoutGroup > 0xffff) return throw_range(env, "options.fanout.group must be 0..65535");
        bool hasMode = false;
        NAPI_OK(napi_has_named_property(env, fo, "mode", &hasMode));
        if (hasMode) {
          char m[16];
          size_t ml;
          napi_valuetype mt;
          NAPI_OK(napi_get_named_property(env, fo, "mode", &mv));
          napi_typeof(env, mv, &mt);
          if (mt != napi_undefined && (napi_get_value_string_utf8(env, mv, m, sizeof m, &ml) != napi_ok || (fmode = fanout_mode(m)) < 0))
            return throw_type(env, "options.fanout.mode must be 'hash', 'lb', 'cpu', 'rollover', 'random', 'qm' or 'cbpf'");
        }
      }
      if (hasRing) {
        if (!opt_u32(env, rg, "blockSize", &blockSize) || !opt_u32(env, rg, "blockCount", &blockCount) ||
            !opt_u32(env, rg, "retireMs", &retireMs) || !opt_u32(env, rg, "version", &ringVersion) ||
            !opt_u32(env, rg, "frameSize", &frameSize) || !opt_u32(env, rg, "frameCount", &frameCount))
          return NULL;
        if (ringVersion != 2 && ringVersion != 3) return throw_range(env, "options.ring.version must be 2 or 3");
        if (ringVersion == 2) {
          // One frame per block: a frame must hold a whole GSO super-frame with vnetHdr.
          if (!frameSize) frameSize = vnet ? 69632 : 4096;
          if (frameSize < 4096 || (frameSize & 4095) || frameSize > (1u << 20))
            return throw_range(env, "options.ring.frameSize must be a multiple of 4096 up to 1 MiB");
          if (frameCount < 2 || frameCount > 65536) return throw_range(env, "options.ring.frameCount must be 2..65536");
          blockSize = frameSize;
          blockCount = frameCount;
        }
        if (blockSize < 4096 || (blockSize & 4095) || blockSize > (1u << 26))
          return throw_range(env, "options.ring.blockSize must be a multiple of 4096 up to 64 MiB");
        if (blockCount < 2 || blockCount > 65536) return throw_range(env, "options.ring.blockCount must be 2..65536");
      }
    }
  }

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); // protocol 0: nothing queued before bind
  if (fd < 0) return throw_sys(env, "socket(AF_PACKET)", errno);
  const char *failed = NULL;
  int one = 1;
  uint8_t *ring = NULL;
  size_t ringSize = 0;
  if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) failed = "setsockopt(PACKET_VNET_HDR)";
  if (!failed && auxdata && setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) failed = "setsockopt(PACKET_AUXDATA)";
  if (!failed && ignoreOutgoing && setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
    failed = "setsockopt(PACKET_IGNORE_OUTGOING)";
  if (!failed && rcvbuf) {
    int v = (int)rcvbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) < 0)
      failed = "setsockopt(SO_RCVBUF)";
  }
  if (!failed && sndbuf) {
    int v = (int)sndbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) < 0)
      failed = "setsockopt(SO_SNDBUF)";
  }
  if (!failed && qdiscBypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
    failed = "setsockopt(PACKET_QDISC_BYPASS)";
  uint8_t *txRing = NULL;
  size_t txRingSize = 0;
  if (hasTx && hasRing && ringVersion == 3) {
    close(fd);
    return throw_range(env, "options.txRing needs options.ring.version 2 (or no receive ring)");
  }
  if (!failed && ((hasRing && ringVersion == 2) || hasTx)) {
    // TPACKET_V2 for both rings; one mmap holds the receive ring, then the transmit ring.
    int ver = TPACKET_V2;
    size_t rxBytes = 0;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) failed = "setsockopt(PACKET_VERSION)";
    // PACKET_LOSS (before any ring: EBUSY after): a malformed transmit frame is skipped
    // (WRONG_FORMAT) instead of stalling the ring.
    if (!failed && hasTx && setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) failed = "setsockopt(PACKET_LOSS)";
    if (!failed && hasRing) {
      struct tpacket_req req;
      memset(&req, 0, sizeof req);
      req.tp_block_size = blockSize;
      req.tp_block_nr = blockCount;
      req.tp_frame_size = frameSize;
      req.tp_frame_nr = frameCount;
      if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) failed = "setsockopt(PACKET_RX_RING)";
      rxBytes = (size_t)blockSize * blockCount;
    }
    if (!failed && hasTx) {
      struct tpacket_req req;
      memset(&req, 0, sizeof req);
      req.tp_block_size = 4096 > txFrameSize ? 4096 : txFrameSize;
      req.tp_frame_size = txFrameSize;
      req.tp_frame_nr = txFrames;
      req.tp_block_nr = txFrames / (req.tp_block_size / txFrameSize);
      if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) failed = "setsockopt(PACKET_TX_RING)";
      txRingSize = (size_t)req.tp_block_size * req.tp_block_nr;
    }
    if (!failed) {
      void *m = mmap(NULL, rxBytes + txRingSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) failed = "mmap(PACKET_RX_RING/PACKET_TX_RING)";
      else {
        if (hasRing) { ring = m; ringSize = rxBytes; }
        if (hasTx) txRing = (uint8_t *)m + rxBytes;
      }
    }
  } else if (!failed && hasRing) {
    int ver = TPACKET_V3;
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = blockSize;
    req.tp_block_nr = blockCount;
    req.tp_frame_size = 2048; // V3 frames are variable-sized; this only satisfies the request checks
    req.tp_frame_nr = (blockSize / 2048) * blockCount;
    req.tp_retire_blk_tov = retireMs;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) failed = "setsockopt(PACKET_VERSION)";
    else if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) failed = "setsockopt(PACKET_RX_RING)";
    else {
      ringSize = (size_t)blockSize * blockCount;
      void *m = mmap(NULL, ringSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) failed = "mmap(PACKET_RX_RING)";
      else ring = m;
    }
  }
  if (!failed) {
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons((uint16_t)protocol);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) failed = "bind(AF_PACKET)";
  }
  if (!failed && promisc && membership(fd, ifindex, 1, PACKET_MR_PROMISC, NULL) < 0) failed = "setsockopt(PACKET_ADD_MEMBERSHIP promisc)";
  if (!failed && hasFanout) {
    // FANOUT_FLAG_DEFRAG deliberately off: fragments are the forwarding core's business.
    // The group's shared hook, not this socket's, decides whether transmitted frames are
    // seen: PACKET_FANOUT_FLAG_IGNORE_OUTGOING carries PACKET_IGNORE_OUTGOING over to it
    // (Linux 6.9+; older kernels refuse the flag, and then the socket joins without it).
    uint32_t flags = (uint32_t)fmode | (rollover ? PACKET_FANOUT_FLAG_ROLLOVER : 0);
    int arg = (int)(fanoutGroup | ((flags | (ignoreOutgoing ? FANOUT_IGNORE_OUTGOING : 0)) << 16));
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) {
      arg = (int)(fanoutGroup | (flags << 16));
      if (!ignoreOutgoing || errno != EINVAL || setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0)
        failed = "setsockopt(PACKET_FANOUT)";
    }
  }
  // A socket with a transmit ring sends only from the ring (packet_sendmsg → tpacket_snd,
  // whatever the iovec says), so frames too large for a ring frame leave by a second,
  // send-only socket on the same interface with the same options.
  int fdBig = -1;
  if (!failed && hasTx) {
    fdBig = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fdBig < 0) failed = "socket(AF_PACKET) for large frames";
    if (!failed && vnet && setsockopt(fdBig, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) failed = "setsockopt(PACKET_VNET_HDR)";
    if (!failed && qdiscBypass && setsockopt(fdBig, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) failed = "setsockopt(PACKET_QDISC_BYPASS)";
    if (!failed && sndbuf) {
      int v = (int)sndbuf;
      if (setsockopt(fdBig, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0) setsockopt(fdBig, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    }
    if (!failed) {
      struct sockaddr_ll sll;
      memset(&sll, 0, sizeof sll);
      sll.sll_family = AF_PACKET;
      sll.sll_protocol = 0;
      sll.sll_ifindex = (int)ifindex;
      if (bind(fdBig, (struct sockaddr *)&sll, sizeof sll) < 0) failed = "bind(AF_PACKET) for large frames";
    }
  }
  if (failed) {
    int err = errno;
    if (fdBig >= 0) close(fdBig);
    if (txRing) munmap(txRing, txRingSize);
    if (ring) munmap(ring, ringSize);
    close(fd);
    return throw_sys(env, failed, err);
  }

  Sock *s = calloc(1, sizeof *s);
  if (!s) {
    if (fdBig >= 0) close(fdBig);
    if (txRing) munmap(txRing, txRingSize);
    if (ring) munmap(ring, ringSize);
    close(fd);
    return throw_sys(env, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = ifindex;
  s->vnet = vnet;
  s->auxdata = auxdata;
  s->ring = ring;
  s->ringSize = ringSize;
  s->blockSize = blockSize;
  s->blockCount = blockCount;
  s->ringVersion = ringVersion;
  s->frameSize = frameSize;
  s->frameCount = frameCount;
  s->framesPerBlock = frameSize ? blockSize / frameSize : 0;
  s->txRing = txRing;
  s->txRingSize = txRingSize;
  s->fdBig = fdBig;
  s->txFrameSize = txFrameSize;
  s->txFrameCount = hasTx ? txFrames : 0;
  if (napi_wrap(env, self, s, sock_finalize, NULL, &s->self) != napi_ok) {
    if (fdBig >= 0) close(fdBig);
    if (txRing) munmap(txRing, txRingSize);
    if (ring) munmap(ring, ringSize);
    close(fd);
    free(s);
    return NULL;
  }
  napi_add_async_cleanup_hook(env, sock_teardown_hook, s, &s->hook);
  return self;
}

// ───────────────────────────── recvmmsg ─────────────────────────────

// setRxBuffers(buf: Uint8Array, slotSize: number, lengths: Uint32Array, meta: Uint32Array) → frames per batch
static napi_value SockSetRx(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  if (argc < 4) return throw_type(env, "setRxBuffers(buf, slotSize, lengths, meta)");
  uint8_t *buf;
  size_t bufLen, nLen, nMeta;
  uint32_t slot, *lens, *meta;
  if (!get_bytes(env, argv[0], "buf", &buf, &bufLen) || !get_u32(env, argv[1], "slotSize", &slot) ||
      !get_u32s(env, argv[2], "lengths", &lens, &nLen) || !get_u32s(env, argv[3], "meta", &meta, &nMeta))
    return NULL;
  if (slot < 64) return throw_range(env, "slotSize must be at least 64");
  size_t n = bufLen / slot;
  if (nLen < n) n = nLen;
  if (nMeta / META_STRIDE < n) n = nMeta / META_STRIDE;
  if (n > MAX_BATCH) n = MAX_BATCH;
  if (n == 0) return throw_range(env, "buffers hold no frame (need buf >= slotSize, lengths >= 1, meta >= 4 entries)");
  free(s->rxMsgs); free(s->rxIov); free(s->rxAddr); free(s->rxCtrl);
  s->rxMsgs = calloc(n, sizeof *s->rxMsgs);
  s->rxIov = calloc(n, sizeof *s->rxIov);
  s->rxAddr = calloc(n, sizeof *s->rxAddr);
  s->rxCtrl = s->auxdata ? calloc(n, CTRL_LEN) : NULL;
  if (!s->rxMsgs || !s->rxIov || !s->rxAddr || (s->auxdata && !s->rxCtrl)) {
    free(s->rxMsgs); free(s->rxIov); free(s->rxAddr); free(s->rxCtrl);
    s->rxMsgs = NULL; s->rxIov = NULL; s->rxAddr = NULL; s->rxCtrl = NULL; s->rxN = 0;
    return throw_sys(env, "calloc", ENOMEM);
  }
  for (size_t i = 0; i < n; i++) {
    s->rxIov[i].iov_base = buf + i * slot;
    s->rxIov[i].iov_len = slot;
    s->rxMsgs[i].msg_hdr.msg_iov = &s->rxIov[i];
    s->rxMsgs[i].msg_hdr.msg_iovlen = 1;
    s->rxMsgs[i].msg_hdr.msg_name = &s->rxAddr[i];
    if (s->rxCtrl) s->rxMsgs[i].msg_hdr.msg_control = s->rxCtrl + i * CTRL_LEN;
  }
  s->rxN = (uint32_t)n;
  s->rxLen = lens;
  s->rxMeta = meta;
  // Strong references keep the caller's memory alive (and in place) while we point into it.
  set_ref(env, &s->rxRefs[0], argv[0]);
  set_ref(env, &s->rxRefs[2], argv[2]);
  set_ref(env, &s->rxRefs[1], argv[3]);
  return num(env, (double)n);
}

// recv(max?) → number of frames received (0 when nothing is waiting or on error; see lastErrno)
static napi_value SockRecv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  if (s->fd < 0) {
    s->lastErrno = EBADF;
    return num(env, 0);
  }
  if (!s->rxN) return throw_type(env, "recv() before setRxBuffers()");
  uint32_t n = s->rxN;
  if (argc >= 1) {
    uint32_t m;
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t != napi_undefined) {
      if (!get_u32(env, argv[0], "max", &m)) return NULL;
      if (m < n) n = m;
    }
  }
  if (n == 0) return num(env, 0);
  for (uint32_t i = 0; i < n; i++) {
    struct msghdr *h = &s->rxMsgs[i].msg_hdr;
    h->msg_namelen = sizeof(struct sockaddr_ll);
    h->msg_controllen = s->rxCtrl ? CTRL_LEN : 0;
    h->msg_flags = 0;
  }
  int r;
  do r = recvmmsg(s->fd, s->rxMsgs, n, MSG_DONTWAIT, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    s->lastErrno = errno;
    return num(env, 0);
  }
  s->lastErrno = 0;
  for (int i = 0; i < r; i++) {
    struct msghdr *h = &s->rxMsgs[i].msg_hdr;
    uint32_t *m = s->rxMeta + (size_t)i * META_STRIDE;
    uint32_t status = (h->msg_flags & MSG_TRUNC) ? META_TRUNCATED : 0, vlan = 0;
    if (s->rxCtrl) {
      for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
          struct tpacket_auxdata aux;
          memcpy(&aux, CMSG_DATA(c), sizeof aux);
          status |= aux.tp_status & ~META_TRUNCATED;
          vlan = aux.tp_vlan_tci;
        }
      }
    }
    s->rxLen[i] = s->rxMsgs[i].msg_len;
    m[0] = s->rxAddr[i].sll_pkttype;
    m[1] = (uint32_t)s->rxAddr[i].sll_ifindex;
    m[2] = status;
    m[3] = vlan;
  }
  return num(env, r);
}

// ───────────────────────────── sendmmsg ─────────────────────────────

// setTxBuffers(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array) → max frames per send()
static napi_value SockSetTx(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  if (argc < 3) return throw_type(env, "setTxBuffers(buf, offsets, lengths)");
  uint8_t *buf;
  size_t bufLen, nOff, nLen;
  uint32_t *off, *lens;
  if (!get_bytes(env, argv[0], "buf", &buf, &bufLen) || !get_u32s(env, argv[1], "offsets", &off, &nOff) ||
      !get_u32s(env, argv[2], "lengths", &lens, &nLen))
    return NULL;
  size_t n = nOff < nLen ? nOff : nLen;
  if (n > MAX_BATCH) n = MAX_BATCH;
  if (n == 0) return throw_range(env, "offsets and lengths must hold at least one entry");
  free(s->txMsgs); free(s->txIov);
  s->txMsgs = calloc(n, sizeof *s->txMsgs);
  s->txIov = calloc(n, sizeof *s->txIov);
  if (!s->txMsgs || !s->txIov) {
    free(s->txMsgs); free(s->txIov);
    s->txMsgs = NULL; s->txIov = NULL; s->txN = 0;
    return throw_sys(env, "calloc", ENOMEM);
  }
  for (size_t i = 0; i < n; i++) {
    s->txMsgs[i].msg_hdr.msg_iov = &s->txIov[i];
    s->txMsgs[i].msg_hdr.msg_iovlen = 1;
  }
  s->txN = (uint32_t)n;
  s->txBuf = buf;
  s->txBufLen = bufLen;
  s->txOff = off;
  s->txLen = lens;
  set_ref(env, &s->txRefs[0], argv[0]);
  set_ref(env, &s->txRefs[1], argv[1]);
  set_ref(env, &s->txRefs[2], argv[2]);
  return num(env, (double)n);
}

#define TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) /* tp_hdrlen - sizeof(sockaddr_ll) */

static int ring_flush(Sock *s) {
  int r;
  do r = (int)send(s->fd, NULL, 0, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return r < 0 ? errno : 0;
}

// Transmit ring: each frame is copied into the next free ring frame and marked
// SEND_REQUEST; one send() then hands them all to the kernel (no msghdr per frame). A frame
// too large for a ring frame (a GSO super-frame) goes by sendmsg, after what is queued, so
// order is kept. Returns the frames queued or sent; a full ring (frames still in flight)
// stops early with lastErrno ENOBUFS.
static uint32_t send_ring(Sock *s, uint32_t first, uint32_t count) {
  uint32_t done = 0;
  bool pending = false;
  int err = 0;
  for (uint32_t i = first; i < first + count; i++) {
    uint32_t o = s->txOff[i], l = s->txLen[i];
    if (l > s->txFrameSize - TX_DATA_OFF) {
      if (pending) { int e = ring_flush(s); if (e && e != EAGAIN && e != ENOBUFS) { err = e; break; } pending = false; }
      struct iovec iov = { s->txBuf + o, l };
      struct msghdr mh;
      memset(&mh, 0, sizeof mh);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      ssize_t r;
      do r = sendmsg(s->fdBig, &mh, MSG_DONTWAIT);
      while (r < 0 && errno == EINTR);
      if (r < 0) { err = errno; break; }
      done++;
      continue;
    }
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)(s->txRing + (size_t)s->txCur * s->txFrameSize);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    // Free once the kernel is done with it: AVAILABLE, possibly with timestamp bits, or WRONG_FORMAT.
    if (st & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) { err = ENOBUFS; break; }
    memcpy((uint8_t *)h + TX_DATA_OFF, s->txBuf + o, l);
    h->tp_len = l;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    if (++s->txCur == s->txFrameCount) s->txCur = 0;
    pending = true;
    done++;
  }
  if (pending) {
    // EAGAIN/ENOBUFS: the frames stay queued in the ring and leave with the next send().
    int e = ring_flush(s);
    if (e && !err) err = e;
  }
  s->lastErrno = err;
  return done;
}

// send(count, first?) → frames the kernel accepted, from entries [first, first+count)
static napi_value SockSend(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  uint32_t count = 0, first = 0;
  if (argc < 1 || !get_u32(env, argv[0], "count", &count)) return NULL;
  if (argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined && !get_u32(env, argv[1], "first", &first)) return NULL;
  }
  if (s->fd < 0) {
    s->lastErrno = EBADF;
    return num(env, 0);
  }
  if (!s->txN) return throw_type(env, "send() before setTxBuffers()");
  if ((uint64_t)first + count > s->txN) return throw_range(env, "first + count exceeds the entries given to setTxBuffers()");
  if (count == 0) return num(env, 0);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t o = s->txOff[first + i], l = s->txLen[first + i];
    if ((uint64_t)o + l > s->txBufLen) return throw_range(env, "a frame's offset + length lies outside the transmit buffer");
    s->txIov[first + i].iov_base = s->txBuf + o;
    s->txIov[first + i].iov_len = l;
  }
  if (s->txRing) return num(env, send_ring(s, first, count));
  int r;
  do r = sendmmsg(s->fd, s->txMsgs + first, count, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    s->lastErrno = errno;
    return num(env, 0);
  }
  s->lastErrno = 0;
  return num(env, r);
}

// ───────────────────────────── TPACKET_V3 ring ─────────────────────────────

static void ring_ab_finalize(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

// ringBuffer() → ArrayBuffer over the whole mapped ring (zero copy; offsets from ringNext() index it)
static napi_value SockRingBuffer(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  if (!s) return NULL;
  napi_value ab;
  if (s->ringAb) {
    NAPI_OK(napi_get_reference_value(env, s->ringAb, &ab));
    return ab;
  }
  if (!s->ring) return throw_type(env, s->fd < 0 ? "socket is closed" : "socket was opened without options.ring");
  NAPI_OK(napi_create_external_arraybuffer(env, s->ring, s->ringSize, ring_ab_finalize, (void *)(uintptr_t)s->ringSize, &ab));
  napi_create_reference(env, ab, 1, &s->ringAb);
  return ab;
}

// setRingArrays(offsets: Uint32Array, lengths: Uint32Array, meta: Uint32Array) → frames per ringNext()
static napi_value SockSetRing(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  if (argc < 3) return throw_type(env, "setRingArrays(offsets, lengths, meta)");
  size_t nOff, nLen, nMeta;
  if (!get_u32s(env, argv[0], "offsets", &s->rgOff, &nOff) || !get_u32s(env, argv[1], "lengths", &s->rgLen, &nLen) ||
      !get_u32s(env, argv[2], "meta", &s->rgMeta, &nMeta))
    return NULL;
  size_t n = nOff < nLen ? nOff : nLen;
  if (nMeta / META_STRIDE < n) n = nMeta / META_STRIDE;
  if (n == 0) return throw_range(env, "arrays must hold at least one frame");
  s->rgN = (uint32_t)(n > 0xffffffffu ? 0xffffffffu : n);
  for (int i = 0; i < 3; i++) set_ref(env, &s->rgRefs[i], argv[i]);
  return num(env, (double)s->rgN);
}

static inline struct tpacket2_hdr *v2_frame(Sock *s, uint32_t i) {
  return (struct tpacket2_hdr *)(s->ring + (size_t)(i / s->framesPerBlock) * s->blockSize + (size_t)(i % s->framesPerBlock) * s->frameSize);
}

// TPACKET_V2: each frame has its own status word, so a frame is handed to us as soon as the
// kernel has written it (no block retire timer). The previous call's frames go back first.
static uint32_t ring_next_v2(Sock *s) {
  uint32_t i = s->curFrame;
  for (uint32_t k = 0; k < s->heldCount; k++) {
    __atomic_store_n(&v2_frame(s, i)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    if (++i == s->frameCount) i = 0;
  }
  s->curFrame = i;
  s->heldCount = 0;
  uint32_t n = 0, pre = s->vnet ? VNET_LEN : 0;
  while (n < s->rgN) {
    struct tpacket2_hdr *h = v2_frame(s, i);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(st & TP_STATUS_USER)) break;
    struct sockaddr_ll *sll = (struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
    uint8_t *frame = (uint8_t *)h + h->tp_mac;
    uint32_t *m = s->rgMeta + (size_t)n * META_STRIDE;
    s->rgOff[n] = (uint32_t)(frame - pre - s->ring);
    s->rgLen[n] = h->tp_snaplen + pre;
    m[0] = sll->sll_pkttype;
    m[1] = (uint32_t)sll->sll_ifindex;
    m[2] = (st & ~META_TRUNCATED) | (h->tp_snaplen < h->tp_len ? META_TRUNCATED : 0);
    m[3] = h->tp_vlan_tci;
    if (++i == s->frameCount) i = 0;
    n++;
  }
  s->heldCount = n;
  return n;
}

// ringNext() → frames described in offsets/lengths/meta. Frames stay valid until the next
// ringNext() call, which hands their block back to the kernel.
static napi_value SockRingNext(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  if (!s) return NULL;
  if (!s->ring) {
    if (s->fd < 0) {
      s->lastErrno = EBADF;
      return num(env, 0);
    }
    return throw_type(env, "socket was opened without options.ring");
  }
  if (!s->rgN) return throw_type(env, "ringNext() before setRingArrays()");
  if (s->ringVersion == 2) return num(env, ring_next_v2(s));
  struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(s->ring + (size_t)s->curBlock * s->blockSize);
  if (s->blockHeld && s->framesLeft == 0) {
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    s->blockHeld = false;
    s->curBlock = (s->curBlock + 1) % s->blockCount;
    bd = (struct tpacket_block_desc *)(s->ring + (size_t)s->curBlock * s->blockSize);
  }
  if (!s->blockHeld) {
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) return num(env, 0);
    s->blockHeld = true;
    s->framesLeft = bd->hdr.bh1.num_pkts;
    s->nextFrame = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
  }
  uint32_t n = 0;
  uint32_t pre = s->vnet ? VNET_LEN : 0;
  while (s->framesLeft && n < s->rgN) {
    struct tpacket3_hdr *h = (struct tpacket3_hdr *)s->nextFrame;
    struct sockaddr_ll *sll = (struct sockaddr_ll *)(s->nextFrame + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
    uint8_t *frame = s->nextFrame + h->tp_mac;
    uint32_t *m = s->rgMeta + (size_t)n * META_STRIDE;
    s->rgOff[n] = (uint32_t)(frame - pre - s->ring);
    s->rgLen[n] = h->tp_snaplen + pre;
    m[0] = sll->sll_pkttype;
    m[1] = (uint32_t)sll->sll_ifindex;
    m[2] = (h->tp_status & ~META_TRUNCATED) | (h->tp_snaplen < h->tp_len ? META_TRUNCATED : 0);
    m[3] = h->hv1.tp_vlan_tci;
    s->nextFrame += h->tp_next_offset;
    s->framesLeft--;
    n++;
  }
  return num(env, n);
}

// ───────────────────────────── membership, stats ─────────────────────────────

static napi_value membership_call(napi_env env, napi_callback_info info, int add) {
  size_t argc = 2;
  napi_value argv[2];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  char kind[16];
  size_t kl;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &kl) != napi_ok)
    return throw_type(env, "kind must be 'promisc', 'allmulti' or 'multicast'");
  int type;
  if (!strcmp(kind, "promisc")) type = PACKET_MR_PROMISC;
  else if (!strcmp(kind, "allmulti")) type = PACKET_MR_ALLMULTI;
  else if (!strcmp(kind, "multicast")) type = PACKET_MR_MULTICAST;
  else return throw_type(env, "kind must be 'promisc', 'allmulti' or 'multicast'");
  uint8_t *mac = NULL;
  size_t ml = 0;
  if (type == PACKET_MR_MULTICAST) {
    if (argc < 2 || !get_bytes(env, argv[1], "mac", &mac, &ml)) return NULL;
    if (ml != 6) return throw_range(env, "mac must be 6 bytes");
    if (!(mac[0] & 1)) return throw_range(env, "mac must be a multicast address (group bit set)");
  }
  if (s->fd < 0) return throw_sys(env, add ? "addMembership" : "dropMembership", EBADF);
  if (membership(s->fd, s->ifindex, add, type, mac) < 0)
    return throw_sys(env, add ? "setsockopt(PACKET_ADD_MEMBERSHIP)" : "setsockopt(PACKET_DROP_MEMBERSHIP)", errno);
  return NULL;
}
static napi_value SockAddMembership(napi_env env, napi_callback_info info) { return membership_call(env, info, 1); }
static napi_value SockDropMembership(napi_env env, napi_callback_info info) { return membership_call(env, info, 0); }

// stats() → { packets, drops, freezes } since the previous call (the kernel resets them on read)
static napi_value SockStats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  if (!s) return NULL;
  if (s->fd < 0) return throw_sys(env, "getsockopt(PACKET_STATISTICS)", EBADF);
  struct tpacket_stats_v3 st;
  memset(&st, 0, sizeof st);
  socklen_t len = s->ring && s->ringVersion == 3 ? sizeof(struct tpacket_stats_v3) : sizeof(struct tpacket_stats);
  if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return throw_sys(env, "getsockopt(PACKET_STATISTICS)", errno);
  napi_value o;
  NAPI_OK(napi_create_object(env, &o));
  napi_set_named_property(env, o, "packets", num(env, st.tp_packets));
  napi_set_named_property(env, o, "drops", num(env, st.tp_drops));
  napi_set_named_property(env, o, "freezes", num(env, s->ring && s->ringVersion == 3 ? st.tp_freeze_q_cnt : 0));
  return o;
}

// setFanoutProgram(program: Uint32Array): the classic BPF program of this socket's fanout
// group (PACKET_FANOUT_DATA; the group must be in 'cbpf' mode). Two words per instruction,
// laid out as struct sock_filter in native (little-endian) order: word 0 = code | jt << 16 |
// jf << 24, word 1 = k. The kernel picks member (return value % members). The program is the
// group's: setting it from any member replaces it for all.
static napi_value SockSetFanoutProgram(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock *s = unwrap(env, info, &argc, argv, NULL);
  if (!s) return NULL;
  uint32_t *words;
  size_t count;
  if (argc < 1 || !get_u32s(env, argv[0], "program", &words, &count)) return NULL;
  if (count == 0 || (count & 1) || count / 2 > BPF_MAXINSNS) return throw_range(env, "program must hold 1..4096 instructions (2 words each)");
  if (s->fd < 0) return throw_sys(env, "setFanoutProgram", EBADF);
  struct sock_fprog prog = { .len = (unsigned short)(count / 2), .filter = (struct sock_filter *)words };
  if (setsockopt(s->fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) < 0)
    return throw_sys(env, "setsockopt(PACKET_FANOUT_DATA)", errno);
  return NULL;
}

// ───────────────────────────── uv_poll ─────────────────────────────

static void on_poll(uv_poll_t *h, int status, int events) {
  Sock *s = h->data;
  if (!s || !s->cb) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, self, res, arg;
  if (napi_get_reference_value(env, s->cb, &cb) == napi_ok && napi_get_reference_value(env, s->self, &self) == napi_ok) {
    napi_create_int32(env, status, &arg);
    s->inCallback = true;
    napi_status st = napi_make_callback(env, s->actx, self, cb, status < 0 ? 1 : 0, &arg, &res);
    s->inCallback = false;
    if (st == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
    if (s->fd < 0 && s->actx) { // closed by the callback
      napi_async_destroy(env, s->actx);
      s->actx = NULL;
    }
  }
  napi_close_handle_scope(env, scope);
}

// start(onReadable: (err?: number) => void): calls onReadable whenever the socket is readable
static napi_value SockStart(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  Sock *s = unwrap(env, info, &argc, argv, &self);
  if (!s) return NULL;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) return throw_type(env, "start(onReadable: function)");
  if (s->fd < 0) return throw_sys(env, "start", EBADF);
  set_ref(env, &s->cb, argv[0]);
  if (!s->actx) {
    napi_value name;
    napi_create_string_utf8(env, "lvsd.PacketSocket", NAPI_AUTO_LENGTH, &name);
    NAPI_OK(napi_async_init(env, self, name, &s->actx));
  }
  if (!s->poll) {
    uv_loop_t *loop;
    NAPI_OK(napi_get_uv_event_loop(env, &loop));
    s->poll = malloc(sizeof *s->poll);
    if (!s->poll) return throw_sys(env, "malloc", ENOMEM);
    int r = uv_poll_init_socket(loop, s->poll, s->fd);
    if (r < 0) {
      free(s->poll);
      s->poll = NULL;
      return throw_sys(env, "uv_poll_init", -r);
    }
    s->poll->data = s;
  }
  if (!s->polling) {
    int r = uv_poll_start(s->poll, UV_READABLE, on_poll);
    if (r < 0) return throw_sys(env, "uv_poll_start", -r);
    s->polling = true;
  }
  if (!s->selfHeld) { // a watched socket must not be garbage-collected
    uint32_t rc;
    napi_reference_ref(env, s->self, &rc);
    s->selfHeld = true;
  }
  return NULL;
}

static napi_value SockStop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  if (!s) return NULL;
  if (s->poll && s->polling) uv_poll_stop(s->poll);
  s->polling = false;
  if (s->selfHeld) {
    uint32_t rc;
    napi_reference_unref(env, s->self, &rc);
    s->selfHeld = false;
  }
  return NULL;
}

static napi_value SockClose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  if (!s) return NULL;
  sock_close(env, s);
  if (s->actx && !s->inCallback) {
    napi_async_destroy(env, s->actx);
    s->actx = NULL;
  }
  return NULL;
}

// ───────────────────────────── getters ─────────────────────────────

static napi_value GetFd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  return s ? num(env, s->fd) : NULL;
}
static napi_value GetIfindex(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  return s ? num(env, s->ifindex) : NULL;
}
static napi_value GetLastErrno(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  return s ? num(env, s->lastErrno) : NULL;
}
static napi_value GetClosed(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  napi_value v;
  if (!s) return NULL;
  napi_get_boolean(env, s->fd < 0, &v);
  return v;
}
static napi_value GetVnetHdr(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL, NULL);
  napi_value v;
  if (!s) return NULL;
  napi_get_boolean(env, s->vnet, &v);
  return v;
}

// ───────────────────────────── module functions ─────────────────────────────

// ifInfo(name) → { index, mac: Buffer(6 or 0), hwType, mtu, flags }
static napi_value IfInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  size_t nl = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nl) != napi_ok || nl == 0 || nl >= IFNAMSIZ)
    return throw_type(env, "ifInfo(name): name must be a non-empty string shorter than 16 bytes");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_sys(env, "socket(AF_INET)", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, nl);
  int index, mtu, flags, hwType;
  uint8_t mac[6];
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { int e = errno; close(fd); return throw_sys(env, "ioctl(SIOCGIFINDEX)", e); }
  index = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { int e = errno; close(fd); return throw_sys(env, "ioctl(SIOCGIFHWADDR)", e); }
  hwType = ifr.ifr_hwaddr.sa_family;
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) { int e = errno; close(fd); return throw_sys(env, "ioctl(SIOCGIFMTU)", e); }
  mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { int e = errno; close(fd); return throw_sys(env, "ioctl(SIOCGIFFLAGS)", e); }
  flags = ifr.ifr_flags;
  close(fd);
  napi_value o, b;
  void *bp;
  NAPI_OK(napi_create_object(env, &o));
  napi_set_named_property(env, o, "index", num(env, index));
  size_t macLen = hwType == 1 /* ARPHRD_ETHER */ ? 6 : 0;
  NAPI_OK(napi_create_buffer_copy(env, macLen, mac, &bp, &b));
  napi_set_named_property(env, o, "mac", b);
  napi_set_named_property(env, o, "hwType", num(env, hwType));
  napi_set_named_property(env, o, "mtu", num(env, mtu));
  napi_set_named_property(env, o, "flags", num(env, flags));
  return o;
}

// setNetns(path | null): moves the CALLING THREAD into the network namespace at path
// (e.g. /run/netns/NAME); null returns it to the namespace it had before the first call.
// Sockets keep the namespace they were created in.
static napi_value SetNetns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  EnvData *d = NULL;
  NAPI_OK(napi_get_instance_data(env, (void **)&d));
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t == napi_null || t == napi_undefined) {
    if (d->origNetns < 0) return NULL;
    if (setns(d->origNetns, CLONE_NEWNET) < 0) return throw_sys(env, "setns", errno);
    return NULL;
  }
  char path[512];
  size_t pl;
  if (t != napi_string || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &pl) != napi_ok || pl == 0 || pl >= sizeof path - 1)
    return throw_type(env, "setNetns(path: string | null)");
  if (d->origNetns < 0) {
    d->origNetns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (d->origNetns < 0) return throw_sys(env, "open(/proc/thread-self/ns/net)", errno);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_sys(env, "open(netns)", errno);
  int r = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (r < 0) return throw_sys(env, "setns", e);
  return NULL;
}

static void huge_finalize(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

// allocHuge(bytes) → zeroed ArrayBuffer of anonymous memory, 2 MiB-aligned and advised
// MADV_HUGEPAGE, so the kernel backs it with transparent huge pages when it can (THP
// "madvise" or "always"). Unmapped when the ArrayBuffer is collected.
static napi_value AllocHuge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double d;
  if (argc < 1 || napi_get_value_double(env, argv[0], &d) != napi_ok || d < 1 || d > 1099511627776.0 || d != (double)(size_t)d)
    return throw_type(env, "allocHuge(bytes: positive integer)");
  const size_t huge = 2u << 20;
  size_t len = ((size_t)d + huge - 1) & ~(huge - 1);
  uint8_t *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return throw_sys(env, "mmap(allocHuge)", errno);
  uint8_t *p = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
  if (p > raw) munmap(raw, (size_t)(p - raw));
  size_t tail = (size_t)(raw + len + huge - (p + len));
  if (tail) munmap(p + len, tail);
  madvise(p, len, MADV_HUGEPAGE); // best effort: THP "never" leaves 4 KiB pages
  if (napi_create_external_arraybuffer(env, p, (size_t)d, huge_finalize, (void *)(uintptr_t)len, &ab) != napi_ok) {
    munmap(p, len);
    return NULL;
  }
  return ab;
}

// setThreadName(name): the calling thread's name (prctl PR_SET_NAME, 15 bytes), as `top -H`
// and /proc/PID/task/TID/comm show it.
static napi_value SetThreadName(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[16];
  size_t nl;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nl) != napi_ok)
    return throw_type(env, "setThreadName(name: string)");
  prctl(PR_SET_NAME, name, 0, 0, 0);
  return NULL;
}

static napi_value SdNotify(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char msg[1024];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], msg, sizeof msg, &len) != napi_ok)
    return throw_type(env, "sdNotify(msg: string)");
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

// ───────────────────────────── module init ─────────────────────────────

#define METHOD(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL }
#define GETTER(name, fn) { name, NULL, NULL, fn, NULL, NULL, napi_enumerable, NULL }

NAPI_MODULE_INIT() {
  EnvData *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->origNetns = -1;
  napi_property_descriptor props[] = {
    METHOD("setRxBuffers", SockSetRx),
    METHOD("recv", SockRecv),
    METHOD("setTxBuffers", SockSetTx),
    METHOD("send", SockSend),
    METHOD("ringBuffer", SockRingBuffer),
    METHOD("setRingArrays", SockSetRing),
    METHOD("ringNext", SockRingNext),
    METHOD("addMembership", SockAddMembership),
    METHOD("dropMembership", SockDropMembership),
    METHOD("stats", SockStats),
    METHOD("setFanoutProgram", SockSetFanoutProgram),
    METHOD("start", SockStart),
    METHOD("stop", SockStop),
    METHOD("close", SockClose),
    GETTER("fd", GetFd),
    GETTER("ifindex", GetIfindex),
    GETTER("lastErrno", GetLastErrno),
    GETTER("closed", GetClosed),
    GETTER("vnetHdr", GetVnetHdr),
  };
  napi_value ctor, fn;
  if (napi_define_class(env, "PacketSocket", NAPI_AUTO_LENGTH, SockNew, NULL, sizeof props / sizeof props[0], props, &ctor) != napi_ok) {
    free(d);
    return NULL;
  }
  napi_create_reference(env, ctor, 1, &d->ctor);
  napi_set_instance_data(env, d, env_data_free, NULL);
  napi_set_named_property(env, exports, "PacketSocket", ctor);
  napi_create_function(env, "ifInfo", NAPI_AUTO_LENGTH, IfInfo, NULL, &fn);
  napi_set_named_property(env, exports, "ifInfo", fn);
  napi_create_function(env, "setNetns", NAPI_AUTO_LENGTH, SetNetns, NULL, &fn);
  napi_set_named_property(env, exports, "setNetns", fn);
  napi_create_function(env, "sdNotify", NAPI_AUTO_LENGTH, SdNotify, NULL, &fn);
  napi_set_named_property(env, exports, "sdNotify", fn);
  napi_create_function(env, "allocHuge", NAPI_AUTO_LENGTH, AllocHuge, NULL, &fn);
  napi_set_named_property(env, exports, "allocHuge", fn);
  napi_create_function(env, "setThreadName", NAPI_AUTO_LENGTH, SetThreadName, NULL, &fn);
  napi_set_named_property(env, exports, "setThreadName", fn);
  napi_value v;
  napi_create_uint32(env, META_STRIDE, &v);
  napi_set_named_property(env, exports, "META_STRIDE", v);
  napi_create_uint32(env, VNET_LEN, &v);
  napi_set_named_property(env, exports, "VNET_HDR_LEN", v);
  napi_create_uint32(env, MAX_BATCH, &v);
  napi_set_named_property(env, exports, "MAX_BATCH", v);
  return exports;
}
