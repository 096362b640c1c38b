{
  "targets": [
    {
      "target_name": "sockopt",
      "sources": ["native/sockopt.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "tftp_pump",
      "sources": ["native/tftp_pump.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "libraries": ["-lpthread"]
    }
  ]
}
