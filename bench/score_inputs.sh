#!/usr/bin/env bash
# Make the four score inputs (and a population layer) of bench/score.sh on one grid.
#
#   bench/score_inputs.sh WORK CITYRISK
#
# From the synthetic city in WORK (bench/gen.sh): sea = cityrisk inundation of the DEM under the
# stress-2m storyline, arrivals = cityrisk arrivals with a 500 m quartic kernel, water, informal
# and population warped onto the DEM's grid with gdalwarp (bilinear, bilinear, sum). Every file
# is a Float32 GeoTIFF with DEFLATE and 256 x 256 tiles, as the benchmark asks, in
# WORK/score/inputs/. Files already there are kept.
set -euo pipefail
work=$1
cityrisk=$2
in=$work/score/inputs
mkdir -p "$in"
export GDAL_CACHEMAX=${GDAL_CACHEMAX:-64}
tiles=(-co TILED=YES -co BLOCKXSIZE=256 -co BLOCKYSIZE=256 -co COMPRESS=DEFLATE -co BIGTIFF=IF_SAFER)
read -r xmin ymin xmax ymax xres yres < <(/usr/bin/python3 -c '
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
x0, dx, _, y0, _, dy = ds.GetGeoTransform()
print(x0, y0 + dy * ds.RasterYSize, x0 + dx * ds.RasterXSize, y0, dx, -dy)' "$work/dem.tif")
srs=$(gdalsrsinfo -o wkt1 "$work/dem.tif" | tr -d '\n')
onto=(-t_srs "$srs" -te "$xmin" "$ymin" "$xmax" "$ymax" -tr "$xres" "$yres" -ot Float32 -q
      -overwrite "${tiles[@]}" -multi -wo NUM_THREADS=ALL_CPUS)
make() { # make NAME CMD...: runs CMD (writing NAME.tmp.tif) unless NAME.tif exists
  local name=$1
  shift
  [[ -f $in/$name.tif ]] && return 0
  echo "score_inputs.sh: making $name.tif" >&2
  "$@"
  mv "$in/$name.tmp.tif" "$in/$name.tif"
}
retile() { gdal_translate -q -ot Float32 "${tiles[@]}" "$1" "$2"; }
sea() {
  "$cityrisk" inundation -q --overwrite --dem "$work/dem.tif" --scenario stress-2m -o "$in/sea.cog.tif"
  retile "$in/sea.cog.tif" "$in/sea.tmp.tif"
  rm -f "$in/sea.cog.tif"
}
arrivals() {
  "$cityrisk" arrivals -q --overwrite --points "$work/arrivals.csv" --count-field arrivals \
    --grid "$work/dem.tif" --kernel quartic --bandwidth 500 -o "$in/arrivals.cog.tif"
  retile "$in/arrivals.cog.tif" "$in/arrivals.tmp.tif"
  rm -f "$in/arrivals.cog.tif"
}
make sea sea
make arrivals arrivals
make water gdalwarp "${onto[@]}" -r bilinear "$work/water_stress.tif" "$in/water.tmp.tif"
make informal gdalwarp "${onto[@]}" -r bilinear "$work/settlement.tif" "$in/informal.tmp.tif"
make population gdalwarp "${onto[@]}" -r sum "$work/population.tif" "$in/population.tmp.tif"
