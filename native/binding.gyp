{
  "targets": [
    {
      "target_name": "tsvmm",
      "sources": ["kvm.cc", "memory.cc", "vcpu.cc", "host.cc", "eventfd.cc", "tap.cc", "exit-loop.cc", "exit-dispatch-bench.cc", "vectored-io.cc", "console.cc", "addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
