{
  "targets": [
    {
      "target_name": "lvsd_native",
      "sources": ["src/addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
