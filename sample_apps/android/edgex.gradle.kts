// Run `edgex build` before an Android build and copy the artifacts that edgex-manifest.json lists into
// src/main/assets/edgex/. Apply it in the app module's build.gradle.kts:
//
//     apply(from = rootProject.file("tools/edgex.gradle.kts"))   // wherever you keep this file
//
// NOT BUILT OR TESTED in the edgex repository (there is no Android SDK there): a starting point to adapt.
//
// gradle.properties, all optional (relative paths are relative to the root project):
//   edgex.executable  the edgex to run, e.g. /path/to/.venv/bin/edgex   [edgex, from the Gradle daemon's PATH]
//   edgex.config      the build file (--config)                          [edgex.toml]
//   edgex.out         edgex's output folder and cache (--out)            [<module>/build/edgex]
//   edgex.only        comma-separated cells or models (--only); * and ? [every cell]
//   edgex.formats     comma-separated manifest formats to copy           [tflite]
//
// Tasks: edgexBuild (Exec) runs edgex; its exit code fails the build when it is not 0 (see docs/ci.md).
// edgexAssets copies what passed parity and hooks into preBuild, so it runs before merge<Variant>Assets.
// edgexAssets owns src/main/assets/edgex/ (it empties it first): keep that folder out of version control.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.io.File
import java.security.MessageDigest

fun edgexProperty(name: String, default: String): String = providers.gradleProperty(name).getOrElse(default)

fun edgexList(name: String, default: String): List<String> =
    edgexProperty(name, default).split(",").map { it.trim() }.filter { it.isNotEmpty() }

val edgexExecutable: String = edgexProperty("edgex.executable", "edgex")
val edgexConfig: File = rootProject.file(edgexProperty("edgex.config", "edgex.toml"))
val edgexOut: File = providers.gradleProperty("edgex.out").map { rootProject.file(it) }
    .getOrElse(layout.buildDirectory.dir("edgex").get().asFile)
val edgexOnly: List<String> = edgexList("edgex.only", "")
val edgexFormats: Set<String> = edgexList("edgex.formats", "tflite").toSet()
val edgexAssetsDir: File = file("src/main/assets/edgex")

val edgexBuild = tasks.register<Exec>("edgexBuild") {
    group = "edgex"
    description = "Runs edgex build; edgex itself skips the cells that are up to date."
    commandLine(
        listOf(edgexExecutable, "build", "--config", edgexConfig.path, "--out", edgexOut.path) +
            edgexOnly.flatMap { listOf("--only", it) }
    )
    outputs.upToDateWhen { false } // edgex decides what is up to date (its fingerprint covers more than Gradle sees)
}

val edgexAssets = tasks.register("edgexAssets") {
    group = "edgex"
    description = "Copies the manifest's artifacts that passed parity into src/main/assets/edgex/."
    dependsOn(edgexBuild)
    val out = edgexOut
    val dest = edgexAssetsDir
    val only = edgexOnly
    val formats = edgexFormats
    outputs.dir(dest)
    doLast {
        val manifestFile = File(out, "edgex-manifest.json")
        @Suppress("UNCHECKED_CAST")
        val manifest = JsonSlurper().parse(manifestFile) as MutableMap<String, Any?>
        if (manifest["schema"] != "edgex.manifest/1") throw GradleException("$manifestFile: not an edgex manifest")
        @Suppress("UNCHECKED_CAST")
        val artifacts = manifest["artifacts"] as List<Map<String, Any?>>

        // --only semantics: MODEL/TARGET, or a bare MODEL for all its cells; * and ? as in shell patterns.
        val patterns = only.map { pattern ->
            val full = if ("/" in pattern) pattern else "$pattern/*"
            Regex(full.split("*").joinToString(".*") { part -> part.split("?").joinToString(".") { Regex.escape(it) } })
        }
        // Edge TPU cells are for Coral boards: neither their compiled model nor their int8 CPU model ships here.
        val chosen = artifacts.filter { entry ->
            (entry["format"] as String) in formats && entry["target"] != "edgetpu" &&
                (patterns.isEmpty() || patterns.any { it.matches(entry["cell"] as String) })
        }
        if (chosen.isEmpty()) throw GradleException("edgex: no $formats artifact for $only in $manifestFile")
        // Only "pass" ships: "fail" and "unvalidated" (a model without validation data) stop the build.
        val failed = chosen.filter { it["verdict"] != "pass" }
            .map { "${it["path"]}: ${it["verdict"]} ${it["error"] ?: ""}" }
        if (failed.isNotEmpty()) throw GradleException("edgex: artifacts that did not pass parity: $failed")

        dest.deleteRecursively()
        for (entry in chosen) {
            val path = entry["path"] as String
            val source = File(out, path)
            val sha256 = MessageDigest.getInstance("SHA-256").digest(source.readBytes())
                .joinToString("") { "%02x".format(it) }
            if (sha256 != entry["sha256"]) throw GradleException("edgex: $source does not match the manifest's sha256")
            for (name in listOfNotNull(path, entry["labels_file"] as String?)) {
                File(out, name).copyTo(File(dest, name), overwrite = true)
            }
        }
        // The app's manifest: the same document, reduced to what was copied; paths stay relative to it.
        manifest["artifacts"] = chosen
        File(dest, "edgex-manifest.json").writeText(JsonOutput.prettyPrint(JsonOutput.toJson(manifest)) + "\n")
    }
}

tasks.matching { it.name == "preBuild" }.configureEach { dependsOn(edgexAssets) }
