# Regenerates the sample city into WORK and compares every file with SAMPLES, byte for byte.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${GENERATOR}" "${WORK}" RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cityrisk-synthcity failed with ${rc}")
endif()
foreach(name dem.tif settlement.tif water_stress.tif population.tif arrivals.csv neighbourhoods.gpkg
             aqueduct_baseline.gpkg informal_settlements.shp informal_settlements.shx
             informal_settlements.dbf informal_settlements.prj informal_settlements.cpg
             arrivals_by_neighbourhood.csv)
  file(SHA256 "${SAMPLES}/${name}" committed)
  file(SHA256 "${WORK}/${name}" regenerated)
  if(NOT committed STREQUAL regenerated)
    message(FATAL_ERROR "samples/data/${name} differs from what cityrisk-synthcity makes now; regenerate it (see samples/README.md)")
  endif()
  message(STATUS "same: ${name}")
endforeach()
file(REMOVE_RECURSE "${WORK}")
