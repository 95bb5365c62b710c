//! Build script: rebuild when migrations change (they are embedded), and let the server binary find the
//! prebuilt `libduckdb.so` at run time — next to the binary (`$ORIGIN`, for deployments) or where the build
//! linked it from (`DUCKDB_LIB_DIR`, for development and tests).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    if wasm {
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
