/* Plausible names for a fictional Mozambican delta city. Names are derived from an index, so any
 * number of them is unique without keeping a set of the names already used. */
#include "synthcity.h"

#include <stdio.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* None of these ends in a direction or a number, so adding one below cannot collide. */
static const char *const PLACES[] = {
    "Munhava", "Chaimite", "Ponta Gêa", "Macuti", "Esturro", "Matacuane", "Maraza",
    "Macurungo", "Chipangara", "Pioneiros", "Alto da Manga", "Vaz", "Nhaconjo", "Mascarenha",
    "Chota", "Inhamízua", "Ndunda", "Muave", "Nhangau", "Manga Loforte", "Chingussura",
    "Mungassa", "Estoril", "Palmeiras", "Goto", "Praia Nova", "Nhamudima", "Matadouro",
    "Macombe", "Chiveve", "Massamba", "Tchonja", "Jardim", "Cerâmica", "Mafarinha",
    "Vila Massane", "Chamba", "Nhamaonha", "Muchatazina", "Chingodzi", "Matundo",
    "Josina Machel", "Ferroviário", "Aeroporto", "Cimentos", "Nova Sofala", "Chiputo",
    "Ndjalane", "Cabeça do Velho", "Mutua", "Savane", "Tica", "Lamego", "Inhamudima",
    "Chaúla", "Mandruzi", "Nhamatsane", "Chissinguana", "Mavudzi", "Pungué", "Ribáue",
    "Dondo Velho", "Murrapaniua", "Chinhambuzi", "Nhamaiabué",
};

static const char *const DIRECTIONS[] = {" Norte", " Sul", " Leste", " Oeste"};

/* A site name is prefix + place + suffix; two suffixes contain a comma, so the CSV must quote. */
static const struct {
    const char *prefix, *suffix;
} SITE_FORMATS[] = {
    {"Bairro ", ""},
    {"Centro de Acomodação de ", ""},
    {"Bairro ", " Sul"},
    {"Escola Primária de ", ""},
    {"", ", Quarteirão 12"},
    {"Campo de Reassentamento de ", ""},
    {"Mercado de ", ", Bloco B"},
};

/* Site k takes place k mod P and format k mod F; these pairs are all distinct for k < P*F only
 * when P and F share no factor, and F is prime. */
_Static_assert(COUNT_OF(PLACES) % COUNT_OF(SITE_FORMATS) != 0, "place/format counts must be coprime");

static const char *const DISTRICTS[CITY_DISTRICTS] = {
    "Inhamízua", "Chiveve", "Munhava", "Macuti", "Manga", "Nhangau",
};

static const char *const ORIGINS[] = {
    "Cabo Delgado", "Nampula", "Niassa", "Zambézia", "Sofala", "Manica", "Tete",
};

/* Roughly the mix of recent displacement into central Mozambique: conflict in the north dominates. */
static const double ORIGIN_WEIGHTS[COUNT_OF(ORIGINS)] = {0.45, 0.12, 0.08, 0.10, 0.12, 0.07, 0.06};

/* Plain names first, then each with a compass direction, then numbered from 2. */
void neighbourhood_name(size_t index, char *out, size_t out_size)
{
    size_t places = COUNT_OF(PLACES), directions = COUNT_OF(DIRECTIONS);
    const char *place = PLACES[index % places];
    size_t round = index / places;
    if (round == 0)
        snprintf(out, out_size, "%s", place);
    else if (round <= directions)
        snprintf(out, out_size, "%s%s", place, DIRECTIONS[round - 1]);
    else
        snprintf(out, out_size, "%s %zu", place, round - directions + 1);
}

void site_name(size_t index, char *out, size_t out_size)
{
    size_t places = COUNT_OF(PLACES), formats = COUNT_OF(SITE_FORMATS);
    char base[160];
    snprintf(base, sizeof base, "%s%s%s", SITE_FORMATS[index % formats].prefix,
             PLACES[index % places], SITE_FORMATS[index % formats].suffix);
    size_t round = index / (places * formats);
    if (round == 0)
        snprintf(out, out_size, "%s", base);
    else
        snprintf(out, out_size, "%s %zu", base, round + 1);
}

const char *district_name(int district)
{
    return DISTRICTS[district % CITY_DISTRICTS];
}

size_t origin_count(void)
{
    return COUNT_OF(ORIGINS);
}

const char *origin_name(size_t index)
{
    return ORIGINS[index];
}

double origin_weight(size_t index)
{
    return ORIGIN_WEIGHTS[index];
}
